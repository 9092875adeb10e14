import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, parse, resolve } from 'node:path';
import { run } from './process.ts';

/**
 * Where a local cluster's data lives. As root, initdb and pg_ctl run as the `postgres` user,
 * which cannot enter a clone in /root or in a `mktemp -d` folder (mode 700). Then the cluster
 * goes to a folder of its own under RELOCATION_ROOT, named by a hash of the wanted path so each
 * project home keeps its own, and a pointer file beside the wanted path records where. golive
 * never changes the permissions of the user's folders.
 */

export const RELOCATION_ROOT = '/var/lib/golive';

export const isRoot = () => process.getuid?.() === 0;

export interface DataDirPlace {
  dataDir: string;
  /** Set when the data is not where it was asked for: why, in words. */
  relocated?: string;
}

/** The file beside `wanted` that records where its cluster lives instead (`.golive/pg.location`). */
export const pointerFile = (wanted: string) => `${resolve(wanted)}.location`;

/** uid and gid of the `postgres` user, which runs initdb and pg_ctl when golive runs as root. */
export async function postgresUser(): Promise<{ uid: number; gid: number }> {
  try {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  } catch {
    throw new Error("Postgres refuses to run as root and there is no `postgres` user: install Debian's postgresql package or run golive as another user");
  }
}

async function postgresCanEnter(folder: string): Promise<boolean> {
  try {
    await run('runuser', ['-u', 'postgres', '--', 'test', '-x', folder], { cwd: '/' });
    return true;
  } catch {
    return false;
  }
}

/** The first folder on the way to `folder` (which exists) that the postgres user cannot enter. */
async function blockedFolder(folder: string): Promise<string | undefined> {
  if (await postgresCanEnter(folder)) return undefined;
  const { root } = parse(folder);
  const parts = folder.slice(root.length).split('/').filter((part) => part !== '');
  for (let depth = 1; depth <= parts.length; depth += 1) {
    const ancestor = join(root, ...parts.slice(0, depth));
    if (!(await postgresCanEnter(ancestor))) return ancestor;
  }
  return folder;
}

/** The data folder recorded beside `wanted` by an earlier start, if it still holds a cluster. */
async function recorded(wanted: string): Promise<string | undefined> {
  const pointer = pointerFile(wanted);
  if (!existsSync(pointer)) return undefined;
  const dataDir = (await readFile(pointer, 'utf8')).trim();
  return isAbsolute(dataDir) && existsSync(join(dataDir, 'PG_VERSION')) ? dataDir : undefined;
}

/**
 * Creates `dataDir` under `root` for the postgres user, or checks the one there is its own: a
 * folder someone else made, a symlink, or a root others can write to is refused, never used.
 */
async function relocationFolder(root: string, dataDir: string): Promise<void> {
  await mkdir(root, { recursive: true, mode: 0o755 });
  const rootStat = await lstat(root);
  if (!rootStat.isDirectory() || rootStat.uid !== 0 || (rootStat.mode & 0o022) !== 0) {
    throw new Error(`cannot keep Postgres data under ${root}: it must be a folder owned by root that only root can write`);
  }
  const { uid, gid } = await postgresUser();
  if (!existsSync(dataDir)) {
    await mkdir(dataDir, { mode: 0o700 });
    await chown(dataDir, uid, gid);
  }
  const stat = await lstat(dataDir);
  if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o077) !== 0) {
    throw new Error(`cannot use ${dataDir} for Postgres data: it must be a folder owned by postgres with mode 700`);
  }
}

/**
 * Where the cluster for `wanted` lives: `wanted` itself, unless golive runs as root and the
 * postgres user cannot reach it; then a folder under `root` it can, recorded in pointerFile().
 */
export async function placeDataDir(wanted: string, root: string = RELOCATION_ROOT): Promise<DataDirPlace> {
  const dataDir = resolve(wanted);
  if (!isRoot()) return { dataDir };
  await mkdir(dirname(dataDir), { recursive: true });
  const blocked = await blockedFolder(dirname(dataDir));
  const because = blocked ? `the postgres user cannot enter ${blocked}` : `${pointerFile(dataDir)} says so`;
  const previous = await recorded(dataDir);
  if (previous) return { dataDir: previous, relocated: because };
  if (blocked === undefined) return { dataDir };
  if (existsSync(join(dataDir, 'PG_VERSION'))) {
    throw new Error(`cannot start the Postgres cluster in ${dataDir}: ${because}. Let it in (chmod o+x ${blocked}) or use another GOLIVE_HOME`);
  }
  const elsewhere = join(resolve(root), `pg-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`);
  await relocationFolder(resolve(root), elsewhere);
  if (!(await postgresCanEnter(elsewhere))) throw new Error(`${because}, nor ${elsewhere} where golive would keep the data instead`);
  await writeFile(pointerFile(dataDir), `${elsewhere}\n`);
  return { dataDir: elsewhere, relocated: because };
}
