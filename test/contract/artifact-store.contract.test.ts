import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { inject } from 'vitest';
import { BlobArtifactStore } from '../../src/adapters/blob/blob-artifact-store.js';
import { FsArtifactStore } from '../../src/adapters/local/fs-artifact-store.js';
import { artifactStoreContract } from './artifact-store-contract.js';

artifactStoreContract('folder', async () => {
  const root = await mkdtemp(join(tmpdir(), 'distillery-artifacts-'));
  return { store: new FsArtifactStore({ root }), cleanup: () => rm(root, { recursive: true, force: true }) };
});

artifactStoreContract('Azure Blob Storage (Azurite)', async () => {
  const connectionString = inject('azuriteConnectionString');
  // A fresh container per store: proves the adapter creates it when absent.
  const containerName = `artifacts-${randomUUID().slice(0, 8)}`;
  return {
    store: new BlobArtifactStore({ connectionString, containerName }),
    cleanup: async () => {
      await BlobServiceClient.fromConnectionString(connectionString).getContainerClient(containerName).deleteIfExists();
    },
  };
});
