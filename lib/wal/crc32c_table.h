/* Internal: the slicing-by-8 CRC32C tables (crc32c_table.c). */
#ifndef AEGIS_WAL_CRC32C_TABLE_H
#define AEGIS_WAL_CRC32C_TABLE_H

#include <stdint.h>

extern const uint32_t aeg_crc32c_table[8][256];

#endif
