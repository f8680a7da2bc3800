import path from 'node:path';
import type { Config } from '../config.js';
import { createFolderStore, type PhotoStore } from './store.js';

/**
 * The configured photo store: S3-compatible when PHOTO_S3_* is set, else DATA_DIR/photos. The app
 * and the CLI open it the same way, so a photo a CLI notice carries is where the deliverer looks.
 */
export async function openPhotoStore(config: Config): Promise<PhotoStore> {
  return config.photos.s3
    ? (await import('./s3-store.js')).createS3Store(config.photos.s3)
    : createFolderStore(path.resolve(config.dataDir, 'photos'));
}
