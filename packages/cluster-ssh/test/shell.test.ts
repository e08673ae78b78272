import { PassThrough, Writable } from 'node:stream';
import { RecordingHost } from '@toil/core';
import { connectSsh, type SshConnection, type TerminalSize } from '@toil/cluster-ssh';
import {
  describeWithSshd,
  sshdLogin,
  startSshd,
  type TestSshd,
} from '../../../tooling/test-env/sshd.js';

/** A scripted terminal: keystrokes in, screen bytes collected, resizes on demand. */
class ScriptedTerminal {
  readonly input = new PassThrough();
  text = '';
  private waiters: Array<{ pattern: RegExp; from: number; resolve: () => void }> = [];
  private resizeListeners = new Set<(size: TerminalSize) => void>();
  readonly output = new Writable({
    write: (chunk: Buffer, _encoding, callback) => {
      this.text += chunk.toString('utf8');
      this.waiters = this.waiters.filter((w) => {
        if (!w.pattern.test(this.text.slice(w.from))) return true;
        w.resolve();
        return false;
      });
      callback();
    },
  });

  /** Resolves when `pattern` appears in output written after this call. */
  waitFor(pattern: RegExp): Promise<void> {
    const from = this.text.length;
    return new Promise((resolve) => this.waiters.push({ pattern, from, resolve }));
  }

  type(keys: string): void {
    this.input.write(Buffer.from(keys, 'utf8'));
  }

  onResize = (listener: (size: TerminalSize) => void) => {
    this.resizeListeners.add(listener);
    return () => this.resizeListeners.delete(listener);
  };

  resize(size: TerminalSize): void {
    for (const listener of this.resizeListeners) listener(size);
  }
}

describeWithSshd('an interactive shell with a PTY', () => {
  let sshd: TestSshd;
  let connection: SshConnection;
  beforeAll(async () => {
    sshd = await startSshd();
    connection = await connectSsh(sshdLogin(sshd, new RecordingHost()));
  });
  afterAll(async () => {
    connection?.close();
    await sshd?.stop();
  });

  it('is a real terminal that follows window resizes and ends with the shell exit code', async () => {
    const term = new ScriptedTerminal();
    const session = connection.shell({
      input: term.input,
      output: term.output,
      size: { columns: 100, rows: 30 },
      term: 'xterm',
      onResize: term.onResize,
    });
    const ready = term.waitFor(/READY/);
    term.type("PS1='$ '; echo RE''ADY\r");
    await ready;
    // Both lines, in one wait: the second may arrive in a later chunk than the first.
    let seen = term.waitFor(/SIZE 30 100\s+TTY/);
    term.type("echo SIZE $(stty size); test -t 0 && echo TT''Y\r");
    await seen;
    term.resize({ columns: 132, rows: 43 });
    seen = term.waitFor(/SIZE 43 132/);
    term.type('echo SIZE $(stty size)\r');
    await seen;
    term.type('exit 5\r');
    expect(await session).toEqual({ code: 5, signal: null });
  });

  it('runs tmux inside it: raw keystrokes detach (Ctrl-B d) and the session is still there', async () => {
    const term = new ScriptedTerminal();
    const socket = `${sshd.home}/tmux.sock`;
    const session = connection.shell({
      input: term.input,
      output: term.output,
      size: { columns: 90, rows: 25 },
      term: 'xterm',
      onResize: term.onResize,
    });
    const ready = term.waitFor(/READY/);
    term.type("PS1='$ '; echo RE''ADY\r");
    await ready;
    const inTmux = term.waitFor(/IN-TMUX 25x90/);
    term.type(`tmux -S ${socket} -f /dev/null new-session -s toiltest\r`);
    // tmux needs a terminal to attach to (the seed page's `script` trick is not needed); ask it
    // the client size from inside, then detach with its prefix key.
    await term.waitFor(/toiltest/);
    term.type("tmux display -p 'IN-TMUX #{client_height}x#{client_width}'\r");
    await inTmux;
    const detached = term.waitFor(/\[detached/);
    term.type('\x02d');
    await detached;
    const listed = term.waitFor(/toiltest: 1 windows/);
    term.type(`tmux -S ${socket} ls\r`);
    await listed;
    term.type(`tmux -S ${socket} kill-server; exit\r`);
    expect((await session).code).toBe(0);
  });
});
