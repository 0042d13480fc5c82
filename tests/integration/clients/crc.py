"""Plain-Python CRC32C and CRC64NVME (the S3 additional checksums that need
awscrt in botocore), written from the published parameters, for values the
tests compare with the store's. Any Python 3; slow, so keep inputs small."""


def _table(poly, width):
    top = (1 << width) - 1
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc & top)
    return table


# Reflected polynomials: CRC-32C (Castagnoli) 0x1EDC6F41, CRC-64/NVME 0xAD93D23594C93659.
_CRC32C = _table(0x82F63B78, 32)
_CRC64NVME = _table(0x9A6C9329AC4BC9B5, 64)


def _crc(data, table, width):
    top = (1 << width) - 1
    crc = top
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ top


def crc32c(data: bytes) -> bytes:
    """Big-endian digest, as S3 base64-encodes it."""
    return _crc(data, _CRC32C, 32).to_bytes(4, "big")


def crc64nvme(data: bytes) -> bytes:
    return _crc(data, _CRC64NVME, 64).to_bytes(8, "big")
