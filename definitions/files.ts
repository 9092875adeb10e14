import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileProblem, type Problem } from './problems.ts';

const DEFINITION_FILE = /\.ya?ml$/i;

export interface FoundFiles {
  /** Definition files, sorted, each once. */
  files: string[];
  /** Paths that do not exist or cannot be read; a folder without definitions is a warning. */
  problems: Problem[];
}

async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map(async (entry) => {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) return filesUnder(path);
      return entry.isFile() && DEFINITION_FILE.test(entry.name) ? [path] : [];
    }),
  );
  return nested.flat();
}

/**
 * The *.yaml and *.yml files under the given files and folders (folders are searched
 * recursively; a file named directly is taken whatever its extension).
 */
export async function findDefinitionFiles(paths: readonly string[]): Promise<FoundFiles> {
  const files = new Set<string>();
  const problems: Problem[] = [];
  for (const path of paths) {
    try {
      const info = await stat(path);
      if (!info.isDirectory()) {
        files.add(path);
        continue;
      }
      const found = await filesUnder(path);
      if (found.length === 0) problems.push(fileProblem(path, 'no .yaml or .yml files in this folder', 'warning'));
      for (const file of found) files.add(file);
    } catch (error) {
      const missing = error instanceof Error && 'code' in error && error.code === 'ENOENT';
      problems.push(fileProblem(path, missing ? 'no such file or folder' : `cannot read: ${String(error)}`));
    }
  }
  return { files: [...files].sort(), problems };
}
