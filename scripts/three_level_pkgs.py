#!/usr/bin/env python3
"""Debian arm64 packages for the three-level machine, through a private apt
configuration (the host's dpkg architectures and sources stay untouched).

  three_level_pkgs.py resolve --apt DIR ROOT...    print pin lines for ROOTs and their library closure
  three_level_pkgs.py fetch --apt DIR --cache DIR --pins FILE --used FILE
                                          download, check sha256, unpack; write what was used
  three_level_pkgs.py closure --used FILE --role R ELF...
                                          list the shared libraries ELFs need (with their loader)
  three_level_pkgs.py kernel --used FILE --role R  print the image and the release of the role's kernel
  three_level_pkgs.py modules (--moddir DIR... | --used FILE --role R) NAME...
                                          list kernel modules NAMEs need, in load order

A ROOT is ROLE:PACKAGE, with a trailing '!' when its Depends are not to be
walked (data, firmware, a kernel). A pin line is
  ROLE PACKAGE ARCH VERSION SHA256 [ALT]
where ALT, if any, is a regular expression for the package names that may
replace a package gone from the mirror (the newest match is taken).

A kernel may be one package or several (see kernel_parts, kernel_files):
a kernel root brings in the packages its kernel is made of, and a kernel
replaced by a newer one brings in the newer one's.
"""

import argparse
import glob
import hashlib
import lzma
import os
import re
import subprocess
import sys

SOURCES = """\
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian unstable main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security trixie-security main
"""

# Depends that are walked: shared libraries only. Whatever else a package
# depends on (debconf, adduser, systemd, init-system-helpers, python3...)
# serves its maintainer scripts or other programs, not the binary we run.
WALK = re.compile(r'^(lib[a-z0-9].*|zlib1g)$')
# Libraries that only serve maintainer scripts or login.
SKIP = re.compile(r'^(libpam.*|libsystemd-shared|libaudit.*|libsemanage.*)$')

LIB_DIRS = ('usr/lib/aarch64-linux-gnu', 'lib/aarch64-linux-gnu', 'usr/lib', 'lib')


# One Debian kernel's binary packages carry its release (VERSION-FLAVOUR,
# e.g. 6.12.117+deb13-cloud-arm64) in their names. Up to 6.12,
# linux-image-REL holds all of it: boot/vmlinuz-REL, the modules under
# lib/modules/REL (usr/lib/modules/REL on a merged-/usr Debian). From 7.x
# (unstable, trixie-backports) linux-image-REL is a meta package depending
# on linux-binary-REL (the image, usr/lib/modules/REL/vmlinuz; or
# linux-binary-unsigned-REL), linux-modules-REL (usr/lib/modules/REL/kernel/)
# and linux-base-REL (config, System.map, modules.order, dtbs).
KERNEL_PKG = re.compile(r'linux-(image|binary|binary-unsigned|modules|base)-(\d\S*)')
# Where an image lies in an unpacked package: (glob, how its path names the
# release)
KERNEL_IMAGES = (
    ('usr/lib/modules/*/vmlinuz', lambda p: os.path.basename(os.path.dirname(p))),
    ('lib/modules/*/vmlinuz', lambda p: os.path.basename(os.path.dirname(p))),
    ('boot/vmlinuz-*', lambda p: os.path.basename(p)[len('vmlinuz-'):]),
)
MODULE_DIRS = ('usr/lib/modules', 'lib/modules')
MODULE_FILE = re.compile(r'(.+)\.ko(\.xz)?$')


class LayoutError(Exception):
    pass


def kernel_release(pkg):
    """REL of a package of one kernel (linux-image-REL, linux-modules-REL...),
    None for any other package (linux-image-cloud-arm64, linux-base...)."""
    m = KERNEL_PKG.fullmatch(pkg)
    return m.group(2) if m else None


def is_kernel_image(pkg):
    return kernel_release(pkg) is not None and pkg.startswith('linux-image-')


def kernel_parts(rec):
    """The other packages the kernel of REC (an index record of linux-image-REL)
    is made of: its Depends of the same release. None for 6.12's one package;
    linux-base-, linux-binary- and linux-modules-REL for 7.x."""
    rel = kernel_release(rec['Package'])
    if rel is None:
        return []
    return [d for d in depends(rec)
            if d != rec['Package'] and kernel_release(d) == rel]


def kernel_files(roots):
    """(image, release, moddirs) of the one kernel whose packages are unpacked
    in ROOTS, whatever the layout (see KERNEL_PKG). moddirs: the
    lib/modules/REL or usr/lib/modules/REL directories holding modules.
    LayoutError when there is no image, or images of two releases."""
    images = {}
    for root in roots:
        for pattern, release in KERNEL_IMAGES:
            for path in sorted(glob.glob(os.path.join(root, pattern))):
                # signed and unsigned images of one release are the same kernel
                images.setdefault(release(path), path)
    if not images:
        raise LayoutError('no kernel image (%s) in %s'
                          % (', '.join(p for p, _ in KERNEL_IMAGES), ' '.join(roots)))
    if len(images) > 1:
        raise LayoutError('images of several kernels: %s' % ', '.join(sorted(images.values())))
    (rel, image), = images.items()
    moddirs = []
    for root in roots:
        for d in MODULE_DIRS:
            top = os.path.join(root, d, rel)
            if any(MODULE_FILE.match(f) for _, _, files in os.walk(top) for f in files):
                moddirs.append(top)
    return image, rel, moddirs


def kernel_roots(used, role):
    """The unpacked trees of the role's kernel packages in a used file."""
    return [f[5] for f in read_used(used, role) if kernel_release(f[1])]


def warn(msg):
    print('WARNING: ' + msg, file=sys.stderr, flush=True)


def say(msg):
    print('==> ' + msg, file=sys.stderr, flush=True)


class Apt:
    """apt-get for update and download (it checks the signed indexes and
    the .debs' hashes); the arm64 indexes are read here, which is much
    faster than one apt-cache call per package."""

    def __init__(self, top):
        self.top = top
        for d in ('state/lists/partial', 'cache/archives/partial', 'etc'):
            os.makedirs(os.path.join(top, d), exist_ok=True)
        src = os.path.join(top, 'etc/sources.list')
        if not os.path.exists(src) or open(src).read() != SOURCES:
            with open(src, 'w') as f:
                f.write(SOURCES)
        self.opts = [
            '-o', 'Dir::State=' + os.path.join(top, 'state'),
            '-o', 'Dir::State::status=/dev/null',
            '-o', 'Dir::Cache=' + os.path.join(top, 'cache'),
            '-o', 'Dir::Etc::SourceList=' + src,
            '-o', 'Dir::Etc::SourceParts=/dev/null',
            '-o', 'APT::Architectures::=amd64',
            '-o', 'APT::Architectures::=arm64',
            '-o', 'APT::Sandbox::User=root',
            '-o', 'Debug::NoLocking=1',
            '-q',
        ]
        self.updated = False
        self.index = None

    def lists(self):
        d = os.path.join(self.top, 'state/lists')
        return sorted(os.path.join(d, n) for n in os.listdir(d)
                      if re.search(r'_binary-arm64_Packages(\.\w+)?$', n))

    def update(self):
        if self.updated:
            return
        say('apt update (private configuration under %s)' % self.top)
        subprocess.run(['apt-get'] + self.opts + ['update'], check=True,
                       stdout=subprocess.DEVNULL)
        self.updated = True
        self.index = None

    def load(self):
        if self.index is not None:
            return
        if not self.lists():
            self.update()
        keep = ('Package', 'Version', 'Architecture', 'SHA256', 'Depends',
                'Pre-Depends', 'Filename')
        self.index = {}
        for path in self.lists():
            text = subprocess.run(['/usr/lib/apt/apt-helper', 'cat-file', path],
                                  capture_output=True, text=True,
                                  check=True).stdout
            for block in text.split('\n\n'):
                rec = {}
                for line in block.splitlines():
                    if line[:1] in (' ', '\t'):
                        continue
                    key, _, val = line.partition(':')
                    if key in keep:
                        rec[key] = val.strip()
                if 'Package' in rec:
                    self.index.setdefault(rec['Package'], []).append(rec)

    def newest(self, pkg, arch):
        self.load()
        best = None
        for r in self.index.get(pkg, []):
            if r.get('Architecture') != arch:
                continue
            if best is None or vercmp(r['Version'], best['Version']) > 0:
                best = r
        return best

    def record(self, pkg, arch, version):
        self.load()
        for r in self.index.get(pkg, []):
            if r.get('Architecture') == arch and r['Version'] == version:
                return r
        return None

    def names(self, regex):
        self.load()
        rx = re.compile(regex)
        return sorted(n for n in self.index if rx.fullmatch(n))

    def download(self, specs, dest):
        """specs: [(pkg, arch, version)], one apt-get call for all."""
        p = subprocess.run(['apt-get'] + self.opts + ['download'] +
                           ['%s:%s=%s' % s for s in specs],
                           cwd=dest, capture_output=True, text=True)
        if p.returncode:
            sys.stderr.write(p.stdout + p.stderr)
        return p.returncode == 0


def vercmp(a, b):
    r = subprocess.run(['dpkg', '--compare-versions', a, 'gt', b])
    if r.returncode == 0:
        return 1
    r = subprocess.run(['dpkg', '--compare-versions', a, 'eq', b])
    return 0 if r.returncode == 0 else -1


def arch_of(apt, pkg):
    """arm64 for architecture-dependent packages, all for the others."""
    for arch in ('arm64', 'all'):
        if apt.newest(pkg, arch):
            return arch
    return None


def depends(rec):
    out = []
    for field in ('Pre-Depends', 'Depends'):
        for alt in rec.get(field, '').split(','):
            alt = alt.strip()
            if not alt:
                continue
            first = alt.split('|')[0].strip()
            name = first.split()[0].split(':')[0]
            out.append(name)
    return out


def cmd_resolve(args):
    apt = Apt(args.apt)
    pins = {}
    order = []
    skipped = set()
    queue = []
    for root in args.roots:
        role, _, pkg = root.partition(':')
        walk = not pkg.endswith('!')
        queue.append((role, pkg.rstrip('!'), walk))
    while queue:
        role, pkg, walk = queue.pop(0)
        if pkg in pins:
            roles = pins[pkg][0]
            if role not in roles:
                roles.append(role)
                # walk again so its libraries carry the new role too
                if pins[pkg][2]:
                    queue.extend((role, d, True) for d in depends(pins[pkg][1])
                                 if WALK.match(d) and not SKIP.match(d))
            continue
        arch = arch_of(apt, pkg)
        if arch is None:
            sys.exit('ERROR: no package %s for arm64 or all' % pkg)
        rec = apt.newest(pkg, arch)
        pins[pkg] = ([role], rec, walk)
        order.append(pkg)
        if is_kernel_image(pkg):
            # next, so that the pins list them after the image
            queue[0:0] = [(role, d, False) for d in kernel_parts(rec)]
        if not walk:
            continue
        for d in depends(rec):
            if WALK.match(d) and not SKIP.match(d):
                queue.append((role, d, True))
            else:
                skipped.add(d)
    print('# ROLE PACKAGE ARCH VERSION SHA256 [ALT]')
    print('# not walked (maintainer scripts, other programs): ' +
          ' '.join(sorted(skipped)))
    alts = dict(a.split('=', 1) for a in args.alt)
    for pkg in order:
        roles, rec, _ = pins[pkg]
        line = '%s %s %s %s %s' % ('+'.join(sorted(roles)), pkg,
                                   rec['Architecture'], rec['Version'],
                                   rec['SHA256'])
        if pkg in alts:
            line += ' ' + alts[pkg]
        print(line)


def read_pins(path):
    out = []
    for line in open(path):
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        f = line.split()
        if len(f) not in (5, 6):
            sys.exit('ERROR: %s: bad pin line: %s' % (path, line))
        out.append(f)
    return out


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def deb_name(pkg, version, arch):
    return '%s_%s_%s.deb' % (pkg, version.replace(':', '%3a'), arch)


def cmd_fetch(args):
    """Cached .debs whose sha256 is the pin's cost no network at all. The
    others are looked up in the indexes: a pinned version still served is
    downloaded and must match the pin; one gone is replaced by the newest
    version (of the package, or of a name matching the pin's ALT), with a
    warning, and must match the index. The pins of a kernel's parts follow
    its image: kept with it, replaced by the replacement's parts."""
    apt = Apt(args.apt)
    debs = os.path.join(args.cache, 'debs')
    roots = os.path.join(args.cache, 'root')
    os.makedirs(debs, exist_ok=True)
    os.makedirs(roots, exist_ok=True)
    pins = read_pins(args.pins)
    images = {kernel_release(f[1]) for f in pins if is_kernel_image(f[1])}

    def part_of(f):
        """The release of the kernel image pin whose part F is, if any."""
        rel = kernel_release(f[1])
        return rel if rel in images and not is_kernel_image(f[1]) else None

    def choose(f):
        """(role, pkg, arch, version, sha256, pinned) for pin F, and the index
        record of what replaced the pinned version (None: the pin is used)."""
        role, pkg, arch, version, want = f[:5]
        alt = f[5] if len(f) > 5 else None
        path = os.path.join(debs, deb_name(pkg, version, arch))
        if os.path.exists(path) and sha256(path) == want:
            return (role, pkg, arch, version, want, True), None
        if apt.record(pkg, arch, version) is None:
            apt.update()
        rec = apt.record(pkg, arch, version)
        if rec is not None:
            if rec['SHA256'] != want:
                sys.exit('ERROR: %s %s: the index says sha256 %s, the pin %s'
                         % (pkg, version, rec['SHA256'], want))
            return (role, pkg, arch, version, want, True), None
        best = None
        for name in [pkg] + (apt.names(alt) if alt else []):
            r = apt.newest(name, arch)
            if r and (best is None or vercmp(r['Version'], best['Version']) > 0):
                best = r
        if best is None:
            sys.exit('ERROR: %s %s has left the mirror and nothing replaces it'
                     % (pkg, version))
        return (role, best['Package'], arch, best['Version'], best['SHA256'],
                False), best

    chosen = []   # (role, pkg, arch, version, sha256, pinned)
    fell_back = 0
    for f in pins:
        if part_of(f):
            continue
        c, replaced = choose(f)
        chosen.append(c)
        if replaced is None:
            if is_kernel_image(f[1]):
                chosen.extend(choose(p)[0] for p in pins
                              if part_of(p) == kernel_release(f[1]))
            continue
        parts = []
        for name in kernel_parts(replaced):
            r = apt.record(name, c[2], replaced['Version']) or apt.newest(name, c[2])
            if r is None:
                sys.exit('ERROR: %s %s is made of %s too, which is not served'
                         % (replaced['Package'], replaced['Version'], name))
            parts.append((c[0], name, c[2], r['Version'], r['SHA256'], False))
        print('WARNING: pinned %s %s has left the mirror: using %s %s%s'
              % (f[1], f[3], c[1], c[3],
                 ' (with %s)' % ', '.join(p[1] for p in parts) if parts else ''),
              flush=True)
        fell_back += 1
        chosen.extend(parts)
    missing = [c for c in chosen if not (
        os.path.exists(os.path.join(debs, deb_name(c[1], c[3], c[2]))) and
        sha256(os.path.join(debs, deb_name(c[1], c[3], c[2]))) == c[4])]
    if missing:
        say('downloading %d packages' % len(missing))
        if not apt.download([(c[1], c[2], c[3]) for c in missing], debs):
            sys.exit('ERROR: apt-get download failed')
        for c in missing:
            path = os.path.join(debs, deb_name(c[1], c[3], c[2]))
            if sha256(path) != c[4]:
                os.unlink(path)
                sys.exit('ERROR: %s %s: sha256 differs from the %s'
                         % (c[1], c[3], 'pin' if c[5] else 'index'))
    used = []
    for role, pkg, arch, version, sha, _ in chosen:
        path = os.path.join(debs, deb_name(pkg, version, arch))
        root = os.path.join(roots, deb_name(pkg, version, arch)[:-4])
        if not os.path.exists(root + '/.unpacked'):
            subprocess.run(['rm', '-rf', root], check=True)
            os.makedirs(root)
            subprocess.run(['dpkg-deb', '-x', path, root], check=True)
            open(root + '/.unpacked', 'w').close()
        used.append('%s %s %s %s %s %s' % (role, pkg, arch, version, sha, root))
    with open(args.used, 'w') as f:
        f.write('# ROLE PACKAGE ARCH VERSION SHA256 UNPACKED\n')
        f.write('\n'.join(used) + '\n')
    say('%d packages (%d replaced by a newer version), unpacked under %s'
        % (len(used), fell_back, roots))


def read_used(path, role):
    out = []
    for line in open(path):
        if line.startswith('#') or not line.strip():
            continue
        f = line.split()
        if role in f[0].split('+'):
            out.append(f)
    return out


def elf_info(path):
    """(interpreter, [DT_NEEDED]) of an ELF file."""
    p = subprocess.run(['readelf', '-d', '-l', '-W', path],
                       capture_output=True, text=True, check=True)
    interp = None
    needed = []
    for line in p.stdout.splitlines():
        m = re.search(r'Requesting program interpreter: (\S+)\]', line)
        if m:
            interp = m.group(1)
        m = re.search(r'\(NEEDED\)\s+Shared library: \[(\S+)\]', line)
        if m:
            needed.append(m.group(1))
    return interp, needed


def find_lib(roots, name):
    for root in roots:
        for d in LIB_DIRS:
            p = os.path.join(root, d, name)
            if os.path.lexists(p):
                return root, os.path.join(d, name)
    return None


def cmd_closure(args):
    """Print 'ROOT RELPATH' for every library the ELFs need, transitively,
    and for the dynamic loader; fail on any DT_NEEDED not found."""
    roots = [f[5] for f in read_used(args.used, args.role)]
    seen = {}
    missing = []
    todo = list(args.elfs)
    while todo:
        elf = todo.pop()
        interp, needed = elf_info(elf)
        if interp:
            needed.append(os.path.basename(interp))
        for name in needed:
            if name in seen:
                continue
            hit = find_lib(roots, name)
            if hit is None:
                missing.append('%s (needed by %s)' % (name, elf))
                seen[name] = None
                continue
            seen[name] = hit
            real = os.path.realpath(os.path.join(*hit))
            todo.append(real)
    if missing:
        sys.exit('ERROR: unresolved DT_NEEDED: ' + ', '.join(missing))
    for name in sorted(seen):
        root, rel = seen[name]
        print('%s %s %s' % (name, root, rel))


def modinfo(path):
    data = open(path, 'rb').read()
    if path.endswith('.xz'):
        data = lzma.decompress(data)
    deps = []
    m = re.search(rb'\0depends=([^\0]*)\0', data)
    if m and m.group(1):
        deps = m.group(1).decode().split(',')
    return deps


def layout_error(e):
    sys.exit('ERROR: %s (known layouts: scripts/three_level_pkgs.py, KERNEL_PKG)' % e)


def cmd_kernel(args):
    """Print the image of the role's kernel, then its release."""
    try:
        image, rel, _ = kernel_files(kernel_roots(args.used, args.role))
    except LayoutError as e:
        layout_error(e)
    print(image)
    print(rel)


def cmd_modules(args):
    moddirs = args.moddir
    if args.used:
        try:
            moddirs = kernel_files(kernel_roots(args.used, args.role))[2]
        except LayoutError as e:
            layout_error(e)
    if not moddirs:
        sys.exit('ERROR: no module directory (--moddir, or --used and --role)')
    index = {}
    for moddir in moddirs:
        for dirpath, _, files in os.walk(moddir):
            for fn in files:
                m = MODULE_FILE.match(fn)
                if m:
                    index[m.group(1).replace('-', '_')] = os.path.join(dirpath, fn)
    order = []

    def visit(name):
        key = name.replace('-', '_')
        if key in order:
            return
        if key not in index:
            sys.exit('ERROR: no module %s under %s' % (name, ' '.join(moddirs)))
        for d in modinfo(index[key]):
            visit(d)
        order.append(key)
    for n in args.names:
        visit(n)
    for key in order:
        print(index[key])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('resolve')
    p.add_argument('--apt', required=True)
    p.add_argument('--alt', action='append', default=[],
                   help='PACKAGE=REGEX: replacement names for a package')
    p.add_argument('roots', nargs='+')
    p = sub.add_parser('fetch')
    p.add_argument('--apt', required=True)
    p.add_argument('--cache', required=True)
    p.add_argument('--pins', required=True)
    p.add_argument('--used', required=True)
    p = sub.add_parser('closure')
    p.add_argument('--used', required=True)
    p.add_argument('--role', required=True)
    p.add_argument('elfs', nargs='+')
    p = sub.add_parser('kernel')
    p.add_argument('--used', required=True)
    p.add_argument('--role', required=True)
    p = sub.add_parser('modules')
    p.add_argument('--moddir', action='append', default=[])
    p.add_argument('--used')
    p.add_argument('--role', default='l2')
    p.add_argument('names', nargs='+')
    args = ap.parse_args()
    {'resolve': cmd_resolve, 'fetch': cmd_fetch, 'closure': cmd_closure,
     'kernel': cmd_kernel, 'modules': cmd_modules}[args.cmd](args)


if __name__ == '__main__':
    main()
