/* Region ids from region names (region.h). Pure; any thread. */
#include "crypto/region.h"

#include <string.h>

#include "crypto/sha256.h"

uint16_t region_id(const char *name)
{
	uint8_t d[SHA256_LEN];
	sha256(name, strlen(name), d);
	return (uint16_t)(d[0] << 8 | d[1]);
}
