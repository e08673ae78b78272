import { AWS_SDK_NODE_NOTICE_ENV, RecordingHost, routeAwsSdkNodeNotice } from '@toil/core';

describe('routeAwsSdkNodeNotice', () => {
  it("turns the SDK's notice off and reports it as a debug event on Node 20", () => {
    const host = new RecordingHost();
    const env: NodeJS.ProcessEnv = {};
    routeAwsSdkNodeNotice(host, env, 'v20.19.0');
    expect(env[AWS_SDK_NODE_NOTICE_ENV]).toBe('true');
    expect(host.events.map((e) => [e.level, e.code, e.message])).toEqual([
      [
        'debug',
        'AWS_SDK_NODE_NOTICE',
        'The AWS SDK for JavaScript releases from January 2027 need Node 22 or later; this is Node v20.19.0.',
      ],
    ]);
  });

  it('leaves a switch the user set alone, and does nothing on Node 22', () => {
    const host = new RecordingHost();
    const userSet: NodeJS.ProcessEnv = { [AWS_SDK_NODE_NOTICE_ENV]: 'false' };
    routeAwsSdkNodeNotice(host, userSet, 'v20.19.0');
    const newer: NodeJS.ProcessEnv = {};
    routeAwsSdkNodeNotice(host, newer, 'v22.12.0');
    expect([userSet[AWS_SDK_NODE_NOTICE_ENV], newer, host.events]).toEqual(['false', {}, []]);
  });
});
