/*
 * The 16-bit id of a region: the first two bytes of SHA-256 of its name,
 * big-endian. The store writes it into version and upload ids (hlc), so the
 * router can tell which region created a multipart upload and pin the
 * upload's later requests there; both sides compute it here. Two region
 * names of one deployment must not share an id (router/config.h refuses it).
 * Pure; any thread.
 */
#ifndef MERIDIAN_CRYPTO_REGION_H
#define MERIDIAN_CRYPTO_REGION_H

#include <stdint.h>

/* `name` is NUL-terminated ("eu-west-1"); the empty name has an id too. */
uint16_t region_id(const char *name);

#endif
