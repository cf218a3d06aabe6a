/* Internal: the slicing-by-8 CRC32C tables (crc32c_table.c) and the software
 * path, exposed so that tests can hold it against the hardware one. */
#ifndef AEGIS_WAL_CRC32C_TABLE_H
#define AEGIS_WAL_CRC32C_TABLE_H

#include <stddef.h>
#include <stdint.h>

extern const uint32_t aeg_crc32c_table[8][256];

uint32_t aeg_crc32c_sw(uint32_t crc, const void *buf, size_t len);

#endif
