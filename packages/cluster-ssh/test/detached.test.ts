import { PassThrough, Writable } from 'node:stream';
import { RecordingHost } from '@toil/core';
import {
  attachDetachedRunCommand,
  chooseDetachedRun,
  connectSsh,
  followDetachedRun,
  listDetachedRuns,
  startDetachedRun,
  type DetachedRun,
  type SshConnection,
} from '@toil/cluster-ssh';
import { rejectedToilError, thrownToilError } from '../../../tooling/test-env/errors.js';
import {
  describeWithSshd,
  sshdLogin,
  startSshd,
  type TestSshd,
} from '../../../tooling/test-env/sshd.js';

describeWithSshd('detached runs on a node (real sshd, real tmux)', () => {
  let sshd: TestSshd;
  const connections: SshConnection[] = [];
  const connect = async () => {
    const connection = await connectSsh(sshdLogin(sshd, new RecordingHost()));
    connections.push(connection);
    return connection;
  };
  /** The run's output so far, as text, and a way to wait for a pattern in it. */
  const collector = () => {
    let text = '';
    const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
    return {
      onOutput: (chunk: Buffer) => {
        text += chunk.toString('utf8');
        for (const w of waiters.splice(0)) {
          if (w.pattern.test(text)) w.resolve();
          else waiters.push(w);
        }
      },
      waitFor: (pattern: RegExp) =>
        new Promise<void>((resolve) =>
          pattern.test(text) ? resolve() : waiters.push({ pattern, resolve }),
        ),
      text: () => text,
    };
  };

  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    for (const c of connections) c.close();
    await sshd?.stop();
  });

  it('a run outlives the connection that started and the one that watched it; following it again shows all its output and its exit status', async () => {
    const first = await connect();
    // The run waits for a file, so the test decides when it ends (no timing involved).
    const gate = `${sshd.home}/gate`;
    const name = await startDetachedRun(first, [
      'sh',
      '-c',
      '[ -t 1 ] && t=yes; echo "started in $(pwd) on a terminal: $t"; while [ ! -e "$1" ]; do sleep 0.1; done; echo "it\'s done"; exit 3',
      'sh',
      gate,
    ]);
    expect(name).toBe('run-1');
    first.close();

    const second = await connect();
    const watched = collector();
    const following = followDetachedRun(second, name, watched.onOutput);
    await watched.waitFor(/started in/);
    sshd.dropConnections();
    await expect(following).rejects.toThrow();

    const third = await connect();
    const runs = await listDetachedRuns(third);
    expect(runs).toEqual([
      expect.objectContaining({
        name: 'run-1',
        state: 'running',
        command: expect.stringContaining('sh -c'),
      }),
    ]);
    const again = collector();
    const followingAgain = followDetachedRun(third, name, again.onOutput);
    await again.waitFor(/started in/);
    await third.execCapture(['touch', gate]);
    const ended = await followingAgain;
    expect(ended).toMatchObject({ name: 'run-1', state: 'exited', exitCode: 3 });
    expect(again.text()).toContain(`started in ${sshd.home} on a terminal: yes`);
    expect(again.text()).toContain("it's done");
    // Once it has ended, following it prints the whole log and returns at once.
    const after = collector();
    expect(await followDetachedRun(third, name, after.onOutput)).toMatchObject({ exitCode: 3 });
    expect(after.text()).toBe(again.text());
  });

  it('names runs, refuses a taken name and bad names, and a terminal attached with tmux sees the live output and can detach', async () => {
    const connection = await connect();
    const gate = `${sshd.home}/gate-2`;
    const name = await startDetachedRun(
      connection,
      [
        'sh',
        '-c',
        'i=0; while [ ! -e "$1" ]; do i=$((i+1)); echo "tick $i"; sleep 0.2; done',
        'sh',
        gate,
      ],
      { name: 'nightly-1' },
    );
    expect(name).toBe('nightly-1');
    const taken = await rejectedToilError(
      startDetachedRun(connection, ['true'], { name: 'nightly-1' }),
    );
    expect(taken.code).toBe('DETACHED_RUN_EXISTS');
    expect(
      (await rejectedToilError(startDetachedRun(connection, ['true'], { name: 'a b;rm' }))).code,
    ).toBe('DETACHED_RUN_NAME_INVALID');
    expect((await rejectedToilError(startDetachedRun(connection, []))).code).toBe(
      'DETACHED_RUN_NO_COMMAND',
    );

    const input = new PassThrough();
    let screen = '';
    let sawTicks: () => void;
    const ticks = new Promise<void>((resolve) => (sawTicks = resolve));
    const output = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        screen += chunk.toString('utf8');
        if (/tick \d+/.test(screen)) sawTicks();
        callback();
      },
    });
    const attached = connection.shell({
      input,
      output,
      size: { columns: 100, rows: 30 },
      term: 'xterm',
      command: attachDetachedRunCommand(name),
    });
    await ticks;
    input.write(Buffer.from('\x02d')); // Ctrl-b d: tmux's detach
    expect((await attached).code).toBe(0);
    expect(screen).toContain('[detached');
    const runs = await listDetachedRuns(connection);
    expect(runs.find((r) => r.name === 'nightly-1')).toMatchObject({ state: 'running' });
    await connection.execCapture(['touch', gate]);
    const ended = await followDetachedRun(connection, name, () => {});
    expect(ended).toMatchObject({ state: 'exited', exitCode: 0 });
  });

  it('chooses the run to attach to: the named one, the only running one, else the latest', () => {
    const run = (name: string, state: DetachedRun['state'], started: number): DetachedRun => ({
      name,
      state,
      started,
      command: 'toil run wf.ts',
    });
    const done = run('run-1', 'exited', 1);
    const live = run('run-2', 'running', 2);
    expect(chooseDetachedRun([done, live])).toBe(live);
    expect(chooseDetachedRun([done, live], 'run-1')).toBe(done);
    expect(chooseDetachedRun([done, run('run-3', 'lost', 3)]).name).toBe('run-3');
    const ambiguous = thrownToilError(() => chooseDetachedRun([live, run('run-4', 'running', 4)]));
    expect(ambiguous.code).toBe('DETACHED_RUN_AMBIGUOUS');
    expect(ambiguous.hint).toContain('run-4 (running)');
    expect(thrownToilError(() => chooseDetachedRun([])).code).toBe('DETACHED_RUN_NOT_FOUND');
    expect(thrownToilError(() => chooseDetachedRun([done], 'nope')).hint).toContain(
      'run-1 (exited',
    );
  });
});
