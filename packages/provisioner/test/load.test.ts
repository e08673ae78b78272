import { RecordingHost } from '@toil/core';
import { loadProvisioner, provisionerPackage, type Provisioner } from '@toil/provisioner';
import { rejectedToilError } from '../../../tooling/test-env/errors.js';

const host = new RecordingHost();

describe('loadProvisioner', () => {
  it('maps aws and gce to their packages and refuses other names', async () => {
    expect(provisionerPackage('aws')).toBe('@toil/provisioner-aws');
    expect(provisionerPackage('gce')).toBe('@toil/provisioner-gce');
    const error = await rejectedToilError(loadProvisioner('azure', { host }));
    expect(error.code).toBe('PROVISIONER_UNKNOWN');
    expect(error.message).toBe("Invalid provisioner 'azure'.");
    expect((await rejectedToilError(loadProvisioner('toString', { host }))).code).toBe(
      'PROVISIONER_UNKNOWN',
    );
  });

  it("calls the package's createProvisioner with the config", async () => {
    const made = { name: 'aws', zone: 'us-west-2a' } as Provisioner;
    const seen: string[] = [];
    const provisioner = await loadProvisioner('aws', { host, zone: 'us-west-2a' }, async (s) => {
      seen.push(s);
      return {
        createProvisioner: (config: { zone?: string }) => ({ ...made, zone: config.zone! }),
      };
    });
    expect(seen).toEqual(['@toil/provisioner-aws']);
    expect(provisioner.zone).toBe('us-west-2a');
  });

  it('says which package to install when it is missing', async () => {
    const error = await rejectedToilError(
      loadProvisioner('gce', { host }, async (s) => {
        throw Object.assign(new Error(`Cannot find package '${s}'`), {
          code: 'ERR_MODULE_NOT_FOUND',
        });
      }),
    );
    expect(error.code).toBe('PROVISIONER_NOT_INSTALLED');
    expect(error.hint).toBe('Install it next to @toil/cli: npm install @toil/provisioner-gce');
  });

  it('refuses a package without createProvisioner', async () => {
    const error = await rejectedToilError(loadProvisioner('aws', { host }, async () => ({})));
    expect(error.message).toBe('@toil/provisioner-aws does not export createProvisioner().');
  });
});
