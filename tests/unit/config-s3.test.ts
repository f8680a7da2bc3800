import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const S3 = { S3_ENDPOINT: 'https://oss-cn-beijing.aliyuncs.com', S3_BUCKET: 'case-photos', S3_ACCESS_KEY_ID: 'id', S3_SECRET_ACCESS_KEY: 'secret' };

describe('S3 photo store settings', () => {
  it('addresses buckets virtual-hosted unless S3_FORCE_PATH_STYLE=true', () => {
    expect(loadConfig(S3).photos.s3).toMatchObject({ endpoint: S3.S3_ENDPOINT, bucket: 'case-photos', region: 'us-east-1', forcePathStyle: false });
    expect(loadConfig({ ...S3, S3_FORCE_PATH_STYLE: 'true' }).photos.s3?.forcePathStyle).toBe(true);
    expect(loadConfig({}).photos.s3).toBeUndefined();
  });

  it('names S3_FORCE_PATH_STYLE when it is neither true nor false', () => {
    expect(() => loadConfig({ ...S3, S3_FORCE_PATH_STYLE: 'yes' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...S3, S3_FORCE_PATH_STYLE: 'yes' })).toThrow(/S3_FORCE_PATH_STYLE/);
  });
});
