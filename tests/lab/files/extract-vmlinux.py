"""Writes the uncompressed ELF kernel (vmlinux) held in a bzImage, for the nested guestOS.

Usage: python3 extract-vmlinux.py BZIMAGE OUTPUT (run with the lab image's own python3).
Debian's kernel is XZ-compressed (CONFIG_KERNEL_XZ=y): the payload is an XZ stream inside the
bzImage. Every candidate XZ magic is tried until one decompresses to an ELF file. QEMU boots that
ELF through its PVH entry (CONFIG_PVH=y), which skips the kernel's own decompressor: under TCG
inside the TCG lab that decompressor alone took minutes.
"""
import lzma
import sys

XZ_MAGIC = b"\xfd7zXZ\x00"


def main(src, dst):
    with open(src, "rb") as f:
        data = f.read()
    pos = data.find(XZ_MAGIC)
    while pos >= 0:
        try:
            elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[pos:])
        except lzma.LZMAError:
            elf = b""
        if elf.startswith(b"\x7fELF"):
            with open(dst, "wb") as f:
                f.write(elf)
            return 0
        pos = data.find(XZ_MAGIC, pos + 1)
    sys.stderr.write(f"{src}: no XZ stream holding an ELF kernel\n")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
