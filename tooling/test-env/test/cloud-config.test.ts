import { parseStageOne } from '../simcloud/cloud-config.js';

describe("the simulated node's reading of stage 1", () => {
  it("keeps a user's uid, as cloud-init does, and refuses one that is not a user id", () => {
    const doc = (uid: unknown) =>
      `#cloud-config\n${JSON.stringify({ users: [{ name: 'toil', uid, ssh_authorized_keys: ['ssh-ed25519 AAAA k'] }] })}\n`;
    expect(parseStageOne(doc(1001)).users[0]).toMatchObject({ name: 'toil', uid: 1001 });
    expect(parseStageOne(doc('1002')).users[0]!.uid).toBe(1002);
    expect(parseStageOne(doc(undefined)).users[0]!.uid).toBeUndefined();
    expect(() => parseStageOne(doc('root'))).toThrow('uid of toil is not a user id');
  });
});
