import type { JobRecord } from '@toil/jobstore';
import { JobGraph } from '../../src/leader/job-graph.js';
import type { JobBody, JobPredecessor } from '../../src/serialize.js';

interface Spec {
  children?: string[];
  followOns?: string[];
  parent?: string;
  relation?: 'child' | 'followOn';
  parents?: JobPredecessor[];
  ran?: boolean;
  checkpoint?: boolean;
  state?: JobRecord['state'];
  batchId?: string;
  tries?: number;
}

function record(id: string, spec: Spec = {}): JobRecord {
  const body: JobBody = {
    kind: 'fn',
    type: 'f',
    promiseFiles: [],
    ran: spec.ran ?? false,
    ...(spec.parent ? { parent: spec.parent, relation: spec.relation ?? 'child' } : {}),
    ...(spec.parents ? { parents: spec.parents } : {}),
  };
  return {
    v: 1,
    id,
    jobName: id,
    displayName: id,
    version: 1,
    state: spec.state ?? (spec.ran ? 'completed' : 'waiting'),
    requirements: { cores: 1, memory: 1, disk: 0, preemptible: false },
    checkpoint: spec.checkpoint ?? false,
    remainingTryCount: spec.tries ?? 2,
    children: spec.children ?? [],
    followOns: spec.followOns ?? [],
    services: [],
    isService: false,
    predecessors: [],
    ...(spec.batchId ? { batchId: spec.batchId } : {}),
    body,
  };
}

/** Takes every ready job's id off the queue. */
function drain(graph: JobGraph): string[] {
  const out: string[] = [];
  for (let job = graph.peekReady(); job; job = graph.peekReady()) {
    out.push(job.id);
    graph.take();
  }
  return out;
}

function created(...records: JobRecord[]): Array<{ record: JobRecord; json: string }> {
  return records.map((r) => ({ record: r, json: JSON.stringify(r) }));
}

/** A graph whose root ran and stored `kids` as its successors (`lists`). */
function afterRootRan(lists: Spec, ...kids: JobRecord[]): JobGraph {
  const graph = new JobGraph();
  graph.seed([record('root')], 'root');
  drain(graph);
  graph.ran('root', record('root', { ran: true, ...lists }), created(...kids));
  return graph;
}

describe('the job graph', () => {
  it('makes only the root ready when a workflow starts', () => {
    const graph = new JobGraph();
    graph.seed([record('root', { children: ['a'] }), record('a', { parent: 'root' })], 'root');
    expect(drain(graph)).toEqual(['root']);
    expect(graph.size).toBe(2);
  });

  it('releases children when their parent ran, and follow-ons only after the children', () => {
    const graph = new JobGraph();
    graph.seed([record('root')], 'root');
    drain(graph);
    const ran = record('root', { ran: true, children: ['a', 'b'], followOns: ['c'] });
    graph.ran(
      'root',
      ran,
      created(
        record('a', { parent: 'root' }),
        record('b', { parent: 'root' }),
        record('c', { parent: 'root', relation: 'followOn' }),
      ),
    );
    expect(drain(graph)).toEqual(['a', 'b']);
    graph.completedWithoutRecord('a');
    expect(drain(graph)).toEqual([]);
    graph.completedWithoutRecord('b');
    expect(drain(graph)).toEqual(['c']);
  });

  it('deletes a parent in the same batch as its last follow-on, and counts both completed', () => {
    const graph = new JobGraph(5);
    graph.seed([record('root')], 'root');
    drain(graph);
    graph.ran(
      'root',
      record('root', { ran: true, followOns: ['f'] }),
      created(record('f', { parent: 'root', relation: 'followOn' })),
    );
    expect(drain(graph)).toEqual(['f']);
    graph.completedWithRecord('f');
    const batch = graph.takeDeletes()!;
    expect(batch.ids).toEqual(['f', 'root']);
    expect(graph.size).toBe(0);
    expect(graph.counts().completed).toBe(7);
    expect(graph.takeDeletes()).toBeUndefined();
    expect(graph.idle).toBe(true);
  });

  it('starts follow-ons waiting on deleted records only once the deletion is committed', () => {
    const graph = afterRootRan(
      { children: ['a'], followOns: ['f'] },
      record('a', { parent: 'root' }),
      record('f', { parent: 'root', relation: 'followOn' }),
    );
    drain(graph);
    graph.completedWithRecord('a');
    const batch = graph.takeDeletes()!;
    expect(batch.ids).toEqual(['a']);
    expect(drain(graph)).toEqual([]);
    graph.committed(batch);
    expect(drain(graph)).toEqual(['f']);
  });

  it('runs a job with several predecessors once, after all of them', () => {
    const graph = new JobGraph();
    graph.seed([record('root')], 'root');
    drain(graph);
    const join: JobPredecessor[] = [
      { id: 'a', relation: 'child' },
      { id: 'b', relation: 'child' },
    ];
    graph.ran(
      'root',
      record('root', { ran: true, children: ['a', 'b'] }),
      created(
        record('a', { parent: 'root', children: ['d'] }),
        record('b', { parent: 'root', children: ['d'] }),
        record('d', { parents: join }),
      ),
    );
    expect(drain(graph)).toEqual(['a', 'b']);
    graph.ran('a', record('a', { ran: true, parent: 'root', children: ['d'] }), []);
    expect(drain(graph)).toEqual([]);
    graph.ran('b', record('b', { ran: true, parent: 'root', children: ['d'] }), []);
    expect(drain(graph)).toEqual(['d']);
    graph.completedWithoutRecord('d');
    expect(graph.takeDeletes()!.ids.sort()).toEqual(['a', 'b', 'root']);
  });

  it('prunes finished successors from a parent record still waiting for others', () => {
    const graph = afterRootRan(
      { children: ['a', 'b'] },
      record('a', { parent: 'root' }),
      record('b', { parent: 'root' }),
    );
    graph.completedWithoutRecord('a');
    expect(graph.hasDirtyParents).toBe(true);
    const puts = graph.prunedParents(Infinity);
    expect(puts).toHaveLength(1);
    const put = puts[0]!;
    expect(put.op === 'put' && put.record.children).toEqual(['b']);
    expect(put.op === 'put' && put.record.version).toBe(2);
    expect(graph.hasDirtyParents).toBe(false);
  });

  it('leaves a parent larger than the limit for a later prune', () => {
    const graph = new JobGraph();
    graph.seed([record('root')], 'root');
    drain(graph);
    const kids = ['a', 'b', 'c'];
    graph.ran(
      'root',
      record('root', { ran: true, children: kids }),
      created(...kids.map((k) => record(k, { parent: 'root' }))),
    );
    graph.completedWithoutRecord('a');
    expect(graph.prunedParents(2)).toEqual([]);
    expect(graph.hasDirtyParents).toBe(true);
  });

  it('marks the predecessors of a failed job as blocked', () => {
    const graph = afterRootRan({ children: ['a'] }, record('a', { parent: 'root', children: [] }));
    graph.fail(graph.get('a')!);
    expect(graph.failed.map((j) => j.id)).toEqual(['a']);
    expect(graph.blockedByFailures().map((j) => j.id)).toEqual(['root']);
    expect(graph.counts().totallyFailed).toBe(1);
  });

  it('discards a frozen subtree and makes its checkpoint ready again', () => {
    const graph = new JobGraph();
    graph.seed([record('cp', { checkpoint: true })], 'cp');
    drain(graph);
    graph.ran(
      'cp',
      record('cp', { ran: true, checkpoint: true, children: ['a'] }),
      created(record('a', { parent: 'cp', children: ['b'] }), record('b', { parent: 'a' })),
    );
    expect(drain(graph)).toEqual(['a']);
    expect(graph.freeze('a', 'cp').sort()).toEqual(['a', 'b']);
    graph.fail(graph.get('a')!);
    const discarded = graph.frozenBy('cp');
    expect([...discarded].sort()).toEqual(['a', 'b']);
    graph.restartCheckpoint('cp', record('cp', { checkpoint: true }), discarded);
    expect(graph.size).toBe(1);
    expect(graph.failed).toEqual([]);
    expect(drain(graph)).toEqual(['cp']);
    expect(graph.get('cp')!.ran).toBe(false);
  });

  it('does not issue jobs frozen while they waited', () => {
    const graph = new JobGraph();
    graph.seed([record('cp', { checkpoint: true })], 'cp');
    drain(graph);
    graph.ran(
      'cp',
      record('cp', { ran: true, checkpoint: true, children: ['a'] }),
      created(record('a', { parent: 'cp' })),
    );
    graph.freeze('a', 'cp');
    expect(drain(graph)).toEqual([]);
  });

  describe('restored from the records of an interrupted attempt', () => {
    it('repairs running records, deletes unreachable ones and makes released jobs ready', () => {
      const graph = new JobGraph();
      const records = new Map(
        [
          record('root', { ran: true, children: ['a', 'gone'], followOns: ['f'], tries: 2 }),
          record('a', { parent: 'root', state: 'running', batchId: '7', tries: 1 }),
          record('f', { parent: 'root', relation: 'followOn' }),
          record('orphan'),
        ].map((r) => [r.id, r]),
      );
      const restored = graph.restore(records, 'root', 2);
      const deletes = restored.writes.filter((w) => w.op === 'delete').map((w) => w.id);
      expect(deletes).toEqual(['orphan']);
      const puts = new Map(
        restored.writes.flatMap((w) => (w.op === 'put' ? [[w.record.id, w.record]] : [])),
      );
      expect(puts.get('a')).toMatchObject({ state: 'waiting', remainingTryCount: 2, version: 2 });
      expect(puts.get('a')!.batchId).toBeUndefined();
      // The finished successor `gone` leaves the root's list.
      expect(puts.get('root')!.children).toEqual(['a']);
      expect(restored.repaired.sort()).toEqual(['a', 'root']);
      expect(drain(graph)).toEqual(['a']);
      graph.completedWithoutRecord('a');
      expect(drain(graph)).toEqual(['f']);
    });

    it('resets a checkpoint that ran but whose subtree did not complete', () => {
      const graph = new JobGraph();
      const records = new Map(
        [
          record('cp', { ran: true, checkpoint: true, children: ['a'], tries: 2 }),
          record('a', { parent: 'cp' }),
        ].map((r) => [r.id, r]),
      );
      const restored = graph.restore(records, 'cp', 2);
      expect(restored.resetCheckpoints.map((r) => r.id)).toEqual(['cp']);
      expect(restored.writes).toContainEqual({ op: 'delete', id: 'a' });
      const put = restored.writes.find((w) => w.op === 'put' && w.record.id === 'cp');
      expect(put?.op === 'put' && put.record.children).toEqual([]);
      expect(put?.op === 'put' && (put.record.body as JobBody).ran).toBe(false);
      expect(drain(graph)).toEqual(['cp']);
    });

    it('queues the deletion of a ran job whose successors all finished', () => {
      const graph = new JobGraph();
      const records = new Map(
        [record('root', { ran: true, children: ['done'], tries: 2 })].map((r) => [r.id, r]),
      );
      graph.restore(records, 'root', 2);
      expect(drain(graph)).toEqual([]);
      expect(graph.takeDeletes()!.ids).toEqual(['root']);
    });
  });
});
