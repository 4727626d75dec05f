/**
 * Layout of the memtable arena (a SharedArrayBuffer, so a flush worker reads it in place).
 * All offsets are byte offsets aligned to 4; 0 is the null link.
 *
 *   arena header (16 bytes):  int32 maxHeight | int32 entryCount | int32 usedBytes | int32 unused
 *   node:                     int32 internalKeyLength | int32 valueLength | int32 height
 *                             int32 next[height] | internal key bytes | value bytes | pad to 4
 *
 * The head node sits right after the header with height MAX_HEIGHT and an empty key.
 */
export const ARENA_HEADER_BYTES = 16;
export const HDR_MAX_HEIGHT = 0; // int32 index
export const HDR_ENTRY_COUNT = 1;
export const HDR_USED_BYTES = 2;

export const MAX_HEIGHT = 12;
/** Each level holds 1/BRANCHING of the nodes of the level below (LevelDB uses 4). */
export const BRANCHING = 4;

export const NODE_KEY_LEN = 0; // int32 offsets within a node
export const NODE_VALUE_LEN = 1;
export const NODE_HEIGHT = 2;
export const NODE_NEXT = 3;
export const NODE_FIXED_BYTES = 12;

export const HEAD_OFFSET = ARENA_HEADER_BYTES;
export const NIL = 0;
