import { RecordingHost, report, silentHost, startSpan } from '@toil/core';

describe('IoHost helpers', () => {
  it('records events and filters them by code and level', () => {
    const host = new RecordingHost();
    report(host, 'info', 'A_THING', 'did a thing', { n: 1 });
    report(host, 'debug', 'B_THING', 'detail');
    expect(host.withCode('A_THING')).toHaveLength(1);
    expect(host.withCode('A_THING')[0]!.data).toEqual({ n: 1 });
    expect(host.messages('info')).toEqual(['did a thing']);
    expect(host.messages()).toEqual(['did a thing', 'detail']);
  });

  it('gives start, progress and end events of a span the same id', () => {
    const host = new RecordingHost();
    const span = startSpan(host, 'DESTROY', 'Deleting', { total: 10 });
    span.progress(5);
    span.end('Deleted', { data: { deleted: 10 } });
    const phases = host.events.map((e) => e.span?.phase);
    expect(phases).toEqual(['start', 'progress', 'end']);
    expect(new Set(host.events.map((e) => e.span?.id)).size).toBe(1);
    expect(host.events[1]!.span).toMatchObject({ total: 10, done: 5 });
    expect(host.events[2]!.span?.ok).toBe(true);
  });

  it('marks a failed span end as an error', () => {
    const host = new RecordingHost();
    startSpan(host, 'X', 'x').end('failed', { ok: false });
    expect(host.events[1]!.level).toBe('error');
  });

  it('answers confirmations from its queue, then with the default', async () => {
    const host = new RecordingHost([false]);
    const request = { code: 'DELETE', message: 'Delete?', defaultAnswer: true };
    await expect(host.confirm(request)).resolves.toBe(false);
    await expect(host.confirm(request)).resolves.toBe(true);
    await expect(silentHost.confirm({ ...request, defaultAnswer: false })).resolves.toBe(false);
    expect(host.confirmations).toHaveLength(2);
  });
});
