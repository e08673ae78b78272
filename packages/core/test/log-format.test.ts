import {
  LOGGING_OPTIONS,
  LOG_LEVELS,
  ToilError,
  formatLogLine,
  formatLogTime,
  isLevelShown,
  parseLogLevel,
  resolveLogLevel,
} from '@toil/core';

describe('Toil-style log lines', () => {
  it('have the UTC time, the level letter, the source and the message', () => {
    const time = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    expect(formatLogTime(time)).toBe('2026-01-02T03:04:05+0000');
    expect(
      formatLogLine({
        code: 'A',
        level: 'warning',
        message: 'careful',
        time,
        source: 'toil.leader',
      }),
    ).toBe('[2026-01-02T03:04:05+0000] [W] [toil.leader] careful');
  });

  it('default the source to toil and redact credentials and control characters', () => {
    const line = formatLogLine({
      code: 'A',
      level: 'debug',
      message: 'token=abc123 \u001b[31mred',
      time: 0,
    });
    expect(line).toBe('[1970-01-01T00:00:00+0000] [D] [toil] token=*** [31mred');
  });

  it('let the caller dress the level letter', () => {
    const line = formatLogLine(
      { code: 'A', level: 'error', message: 'x', time: 0 },
      { styleLevel: (letter, level) => `<${letter}:${level}>` },
    );
    expect(line).toBe('[1970-01-01T00:00:00+0000] [<E:error>] [toil] x');
  });
});

describe('log levels', () => {
  it('are shown at or above the threshold', () => {
    expect(isLevelShown('error', 'info')).toBe(true);
    expect(isLevelShown('info', 'info')).toBe(true);
    expect(isLevelShown('debug', 'info')).toBe(false);
    expect(isLevelShown('warning', 'critical')).toBe(false);
    expect(LOG_LEVELS.every((level) => isLevelShown(level, 'debug'))).toBe(true);
  });

  it('parse in any case and reject unknown names with a usage error and a hint', () => {
    expect(parseLogLevel('DEBUG')).toBe('debug');
    expect(parseLogLevel('Warning')).toBe('warning');
    let error: unknown;
    try {
      parseLogLevel('loud');
    } catch (e) {
      error = e;
    }
    expect(ToilError.is(error)).toBe(true);
    expect((error as ToilError).code).toBe('USAGE');
    expect((error as ToilError).message).toBe("Invalid --logLevel 'loud'.");
    expect((error as ToilError).hint).toMatch(/Critical, Error, Warning, Info, Debug/);
  });

  it('resolve from Toil flags: default info, --logDebug wins, then --logLevel, --logOff is critical', () => {
    expect(resolveLogLevel({})).toBe('info');
    expect(resolveLogLevel({ logDebug: true, logLevel: 'error' })).toBe('debug');
    expect(resolveLogLevel({ logLevel: 'Error', logInfo: true })).toBe('error');
    expect(resolveLogLevel({ logInfo: true, logError: true })).toBe('info');
    expect(resolveLogLevel({ logWarning: true, logCritical: true })).toBe('warning');
    expect(resolveLogLevel({ logOff: true })).toBe('critical');
    expect(() => resolveLogLevel({ logLevel: 'chatty' })).toThrow("Invalid --logLevel 'chatty'.");
  });

  it('have one option spec per Toil logging flag, each meaning the level its help names', () => {
    expect(Object.keys(LOGGING_OPTIONS)).toEqual([
      'logLevel',
      'logCritical',
      'logError',
      'logWarning',
      'logInfo',
      'logDebug',
      'logOff',
      'logFile',
    ]);
    for (const [name, spec] of Object.entries(LOGGING_OPTIONS)) {
      const named = /^Same as --logLevel (\w+)/.exec(spec.describe)?.[1];
      if (spec.type !== 'boolean') continue;
      expect(named).toBeDefined();
      expect(resolveLogLevel({ [name]: true })).toBe(parseLogLevel(named!));
    }
  });
});
