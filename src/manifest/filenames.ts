/**
 * Names of the files in a database directory, as LevelDB names them (db/filename.cc):
 * NNNNNN.log (WAL), NNNNNN.sst / NNNNNN.ldb (tables; we write .sst, LevelDB reads both),
 * MANIFEST-NNNNNN, CURRENT, LOCK, and *.dbtmp for files being atomically replaced.
 */
import { join } from 'node:path';

export type FileKind = 'log' | 'table' | 'manifest' | 'current' | 'lock' | 'temp' | 'info-log' | 'identity';

export interface ParsedFileName {
  kind: FileKind;
  number: number;
}

function pad(n: number): string {
  return String(n).padStart(6, '0');
}

export function logFileName(dir: string, number: number): string {
  return join(dir, `${pad(number)}.log`);
}

export function tableFileName(dir: string, number: number): string {
  return join(dir, `${pad(number)}.sst`);
}

/** LevelDB 1.20's name for tables; read when the .sst name is absent. */
export function legacyTableFileName(dir: string, number: number): string {
  return join(dir, `${pad(number)}.ldb`);
}

export function manifestFileName(dir: string, number: number): string {
  return join(dir, `MANIFEST-${pad(number)}`);
}

export function currentFileName(dir: string): string {
  return join(dir, 'CURRENT');
}

export function lockFileName(dir: string): string {
  return join(dir, 'LOCK');
}

export function identityFileName(dir: string): string {
  return join(dir, 'IDENTITY');
}

/** Classifies a directory entry; undefined for names that are not the database's. */
export function parseFileName(name: string): ParsedFileName | undefined {
  if (name === 'CURRENT') return { kind: 'current', number: 0 };
  if (name === 'LOCK') return { kind: 'lock', number: 0 };
  if (name === 'IDENTITY') return { kind: 'identity', number: 0 };
  if (name === 'LOG' || name === 'LOG.old') return { kind: 'info-log', number: 0 };
  let m = /^MANIFEST-(\d+)$/.exec(name);
  if (m) return { kind: 'manifest', number: Number(m[1]) };
  m = /^(\d+)\.(log|sst|ldb|dbtmp)$/.exec(name);
  if (!m) return undefined;
  const number = Number(m[1]);
  const ext = m[2];
  if (ext === 'log') return { kind: 'log', number };
  if (ext === 'dbtmp') return { kind: 'temp', number };
  return { kind: 'table', number };
}
