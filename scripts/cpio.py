#!/usr/bin/env python3
"""Write an initramfs (cpio "newc", owner root, mtime 0) from a list, without
root and without a kernel build:

  dir PATH MODE
  file PATH SOURCE MODE        (SOURCE's content; symlinks are followed)
  slink PATH TARGET
  nod PATH MODE c|b MAJOR MINOR

  cpio.py LIST OUTPUT
Prints the archive's size. Parent directories must be listed first.
"""

import os
import stat
import sys


def header(ino, mode, nlink, size, rmajor, rminor, name):
    # ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor
    # rdevminor namesize check
    fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, rmajor, rminor,
              len(name) + 1, 0]
    h = b'070701' + b''.join(b'%08x' % f for f in fields)
    out = h + name.encode() + b'\0'
    return out + b'\0' * (-len(out) % 4)


def main():
    lst, output = sys.argv[1], sys.argv[2]
    seen = set()
    ino = 1
    with open(output + '.tmp', 'wb') as out:
        for lineno, line in enumerate(open(lst), 1):
            f = line.split()
            if not f or f[0].startswith('#'):
                continue
            kind, path = f[0], f[1].lstrip('/')
            if path in seen:
                sys.exit('%s:%d: %s listed twice' % (lst, lineno, path))
            seen.add(path)
            data = b''
            dev = (0, 0)
            if kind == 'dir':
                mode = stat.S_IFDIR | int(f[2], 8)
            elif kind == 'file':
                with open(f[2], 'rb') as src:
                    data = src.read()
                mode = stat.S_IFREG | int(f[3], 8)
            elif kind == 'slink':
                data = f[2].encode()
                mode = stat.S_IFLNK | 0o777
            elif kind == 'nod':
                mode = (stat.S_IFCHR if f[3] == 'c' else stat.S_IFBLK) | int(f[2], 8)
                dev = (int(f[4]), int(f[5]))
            else:
                sys.exit('%s:%d: unknown entry %s' % (lst, lineno, kind))
            hdr = header(ino, mode, 2 if kind == 'dir' else 1, len(data),
                         dev[0], dev[1], path)
            out.write(hdr)
            out.write(data)
            out.write(b'\0' * (-len(data) % 4))
            ino += 1
        out.write(header(0, 0, 1, 0, 0, 0, 'TRAILER!!!'))
    os.replace(output + '.tmp', output)
    print(os.path.getsize(output))


if __name__ == '__main__':
    main()
