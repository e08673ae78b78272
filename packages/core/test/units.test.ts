import { ToilError, formatSize, parseDuration, parseSize } from '@toil/core';

describe('parseSize', () => {
  it.each([
    ['0', 0],
    ['1024', 1024],
    ['2G', 2e9],
    ['2g', 2e9],
    ['2GB', 2e9],
    ['2Gi', 2 * 1024 ** 3],
    ['512Mi', 512 * 1024 ** 2],
    ['1.5Ki', 1536],
    ['100M', 1e8],
    [' 7 K ', 7000],
  ])('reads %p as %p bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', 'two', '-1G', '5X', '1e3', 'G'])(
    'rejects %p with INVALID_SIZE naming the option',
    (text) => {
      let caught: unknown;
      try {
        parseSize(text, '--maxMemory');
      } catch (e) {
        caught = e;
      }
      expect(ToilError.is(caught)).toBe(true);
      expect((caught as ToilError).code).toBe('INVALID_SIZE');
      expect((caught as ToilError).message).toContain('--maxMemory');
      expect((caught as ToilError).hint).toMatch(/Mi/);
    },
  );

  it('accepts non-negative numbers as bytes', () => {
    expect(parseSize(12.7)).toBe(12);
    expect(() => parseSize(-1)).toThrow(ToilError);
  });
});

describe('formatSize', () => {
  it('uses binary units', () => {
    expect(formatSize(17)).toBe('17B');
    expect(formatSize(2 * 1024 ** 3)).toBe('2.0Gi');
    expect(formatSize(1536)).toBe('1.5Ki');
  });
});

describe('parseDuration', () => {
  it.each([
    ['90', 90],
    ['0.5', 0.5],
    ['500ms', 0.5],
    ['90s', 90],
    ['15m', 900],
    ['1h30m', 5400],
    ['2d', 172800],
    ['30:00', 1800],
    ['01:02:03', 3723],
    ['1-02:00:00', 93600],
  ])('reads %p as %p seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['', 'soon', '1h30', '5 parsecs', 'm'])('rejects %p', (text) => {
    expect(() => parseDuration(text, '--time')).toThrow(/Invalid --time/);
  });
});
