import { PassThrough } from 'node:stream';
import { TerminalHost, resolveLogLevel, useColour } from '@toil/cli';

function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream;
  let text = '';
  (stream as unknown as PassThrough).on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

describe('TerminalHost', () => {
  it('writes events at or above its level as Toil-style log lines', () => {
    const out = capture();
    const host = new TerminalHost({ level: 'info', json: false, stream: out.stream });
    host.emit({
      code: 'A',
      level: 'info',
      message: 'hello',
      time: Date.UTC(2026, 0, 2, 3, 4, 5),
      source: 'toil.test',
    });
    host.emit({ code: 'B', level: 'debug', message: 'hidden', time: 0 });
    expect(out.text()).toBe('[2026-01-02T03:04:05+0000] [I] [toil.test] hello\n');
  });

  it('writes NDJSON with --json and redacts secrets', () => {
    const out = capture();
    const host = new TerminalHost({ level: 'debug', json: true, stream: out.stream });
    host.emit({ code: 'A', level: 'warning', message: 'password=hunter2', time: 1 });
    const parsed = JSON.parse(out.text().trim()) as { code: string; message: string };
    expect(parsed.code).toBe('A');
    expect(parsed.message).toBe('password=***');
  });

  it('answers confirmations with the default when there is no terminal, and yes with assumeYes', async () => {
    const out = capture();
    const request = { code: 'X', message: 'Delete?', defaultAnswer: false };
    await expect(
      new TerminalHost({ level: 'info', json: false, stream: out.stream }).confirm(request),
    ).resolves.toBe(false);
    await expect(
      new TerminalHost({ level: 'info', json: false, stream: out.stream, assumeYes: true }).confirm(
        request,
      ),
    ).resolves.toBe(true);
  });
});

describe('log level flags', () => {
  it('follow Toil: default info, --logDebug wins, --logOff is critical', () => {
    expect(resolveLogLevel({})).toBe('info');
    expect(resolveLogLevel({ logDebug: true, logError: true })).toBe('debug');
    expect(resolveLogLevel({ logLevel: 'warning' })).toBe('warning');
    expect(resolveLogLevel({ logOff: true })).toBe('critical');
    expect(resolveLogLevel({ logError: true })).toBe('error');
  });
});

describe('colour', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('is off with NO_COLOR and on a non-TTY', () => {
    const out = capture();
    process.env.NO_COLOR = '1';
    delete process.env.FORCE_COLOR;
    expect(useColour(out.stream)).toBe(false);
    delete process.env.NO_COLOR;
    expect(useColour(out.stream)).toBe(false);
  });
});
