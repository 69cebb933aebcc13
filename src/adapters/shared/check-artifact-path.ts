import { invalidRequest } from '../../core/errors.js';

// Artifact paths are the same on every ArtifactStore: relative, '/'-separated, no empty, '.' or
// '..' segments, no backslashes or control characters. Checked once here so a path that works on
// a folder also works as a blob name, and no path can escape the store's root.

export function checkArtifactPath(path: string, param = 'path'): string {
  if (typeof path !== 'string' || path.length === 0 || path.length > 1024) {
    throw invalidRequest('Artifact paths are non-empty strings of at most 1024 characters.', param);
  }
  if (path.startsWith('/') || path.includes('\\') || /[\u0000-\u001f\u007f]/u.test(path)) {
    throw invalidRequest(`Invalid artifact path '${path}': relative, '/'-separated, printable.`, param);
  }
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw invalidRequest(`Invalid artifact path '${path}': empty, '.' or '..' segment.`, param);
    }
  }
  return path;
}

/** Prefixes may be empty (everything) or end with '/'; otherwise they follow the path rules. */
export function checkArtifactPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  if (typeof prefix !== 'string') throw invalidRequest('Artifact prefix must be a string.', 'prefix');
  checkArtifactPath(prefix.endsWith('/') ? prefix.slice(0, -1) || 'x' : prefix, 'prefix');
  return prefix;
}
