#!/usr/bin/env python3
"""Debian arm64 packages for the three-level machine, through a private apt
configuration (debian.py's Apt: the host's dpkg architectures and sources
stay untouched).

  three_level_pkgs.py resolve --apt DIR --pins FILE
                                          rewrite FILE's pins from its wants and the mirror's newest
  three_level_pkgs.py fetch --apt DIR --cache DIR --pins FILE --used FILE
                                          download, check sha256, unpack; write what was used
  three_level_pkgs.py unpacked --used FILE PACKAGE-REGEX
                                          print the unpacked tree of the package used
  three_level_pkgs.py closure --used FILE --role R ELF...
                                          list the shared libraries ELFs need (with their loader)
  three_level_pkgs.py kernel --used FILE --role R  print the image and the release of the role's kernel
  three_level_pkgs.py modules (--moddir DIR... | --used FILE --role R) NAME...
                                          list kernel modules NAMEs need, in load order

The pins file (configs/three-level-packages.txt, read by conf.records) holds
what the three levels need from Debian, one record each:
  want ROLE PACKAGE[!] [ALT]
with a trailing '!' when PACKAGE's Depends are not to be walked (data,
firmware, a kernel); ALT, if any, is a regular expression for the package
names that may replace PACKAGE when its pinned version has gone from the
mirror (the newest match is taken). Then, written by resolve, the pins of
the wants and of their library closure:
  ROLE PACKAGE ARCH VERSION SHA256
The used file (build/three-level/packages-used.txt) has a line a package
used: ROLE PACKAGE ARCH VERSION SHA256 UNPACKED.

A kernel may be one package or several (see kernel_parts, kernel_files):
a kernel root brings in the packages its kernel is made of, and a kernel
replaced by a newer one brings in the newer one's.
"""

import argparse
import glob
import lzma
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conf  # noqa: E402
import debian  # noqa: E402
from debian import deb_name, say, sha256  # noqa: E402

# The Debian suites the three-level machine's packages come from
SUITES = ('unstable', 'trixie', 'trixie-security')

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


def open_apt(top):
    """The three-level machine's private apt configuration, under TOP."""
    return debian.Apt(top, SUITES, 'arm64')


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


def load_pins(path):
    """(wants, pins) of a pins file. A want record is
      want ROLE PACKAGE[!] [ALT]
    (a root of resolve: '!' when its Depends are not walked; ALT: see the
    module's docstring), a pin ROLE PACKAGE ARCH VERSION SHA256."""
    wants, pins = [], []
    for r in conf.records(path):
        if r.kind == 'want':
            if len(r.args) not in (2, 3):
                raise r.error('not want ROLE PACKAGE[!] [ALT]')
            role, pkg = r.args[:2]
            wants.append((role, pkg.rstrip('!'), not pkg.endswith('!'),
                          r.args[2] if len(r.args) > 2 else None))
        elif len(r.args) == 4:
            pins.append([r.kind] + r.args)
        else:
            raise r.error('not a pin (ROLE PACKAGE ARCH VERSION SHA256) nor a want')
    return wants, pins


def resolve(apt, wants):
    """The pins of WANTS and their library closure, from the newest
    versions APT serves: (pin lines, the Depends not walked)."""
    pins = {}
    order = []
    skipped = set()
    queue = [(role, pkg, walk) for role, pkg, walk, _ in wants]
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
    lines = []
    for pkg in order:
        roles, rec, _ = pins[pkg]
        lines.append('%s %s %s %s %s' % ('+'.join(sorted(roles)), pkg, rec['Architecture'],
                                         rec['Version'], rec['SHA256']))
    return lines, sorted(skipped)


def cmd_resolve(args):
    """Rewrite the pins of the pins file from its wants: its lines up to its
    last want are kept, the pins after them are the mirror's newest."""
    wants, _ = load_pins(args.pins)
    if not wants:
        sys.exit('ERROR: %s: no want records' % args.pins)
    apt = open_apt(args.apt)
    apt.refresh()       # the mirror's newest: lists at most a day old
    lines, skipped = resolve(apt, wants)
    with open(args.pins, encoding='utf-8') as f:
        text = f.read().splitlines()
    last = max(i for i, t in enumerate(text) if t.split()[:1] == ['want'])
    with open(args.pins + '.new', 'w', encoding='utf-8') as f:
        f.write('\n'.join(text[:last + 1] + [
            '# not walked (maintainer scripts, other programs): ' + ' '.join(skipped)] +
            lines) + '\n')
    os.replace(args.pins + '.new', args.pins)
    say('pins: %s (%d packages)' % (args.pins, len(lines)))


def cmd_fetch(args):
    """Cached .debs whose sha256 is the pin's cost no network at all. The
    others are looked up in the indexes: a pinned version still served is
    downloaded and must match the pin; one gone is replaced by the newest
    version (of the package, or of a name matching the pin's ALT), with a
    warning, and must match the index. The pins of a kernel's parts follow
    its image: kept with it, replaced by the replacement's parts."""
    apt = open_apt(args.apt)
    debs = os.path.join(args.cache, 'debs')
    roots = os.path.join(args.cache, 'root')
    os.makedirs(debs, exist_ok=True)
    os.makedirs(roots, exist_ok=True)
    wants, pins = load_pins(args.pins)
    alts = {pkg: alt for _, pkg, _, alt in wants if alt}
    unpinned = {pkg for _, pkg, _, _ in wants} - {f[1] for f in pins}
    if unpinned:
        sys.exit('ERROR: %s: no pin for %s: run scripts/three-level-fetch.sh --resolve'
                 % (args.pins, ' '.join(sorted(unpinned))))
    images = {kernel_release(f[1]) for f in pins if is_kernel_image(f[1])}

    def part_of(f):
        """The release of the kernel image pin whose part F is, if any."""
        rel = kernel_release(f[1])
        return rel if rel in images and not is_kernel_image(f[1]) else None

    def choose(f):
        """(role, pkg, arch, version, sha256, pinned) for pin F, and the index
        record of what replaced the pinned version (None: the pin is used)."""
        role, pkg, arch, version, want = f
        alt = alts.get(pkg)
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
            if r and (best is None or debian.vercmp(r['Version'], best['Version']) > 0):
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


def read_used(path, role=None):
    """The lines of a used file (ROLE PACKAGE ARCH VERSION SHA256 UNPACKED),
    as lists of words: the role's (ROLE: roles joined by '+'), or all."""
    out = []
    for r in conf.records(path):
        if len(r.args) != 5:
            raise r.error('not ROLE PACKAGE ARCH VERSION SHA256 UNPACKED')
        if role is None or role in r.kind.split('+'):
            out.append([r.kind] + r.args)
    return out


def used_package(used, regex):
    """The line of the first package of a used file whose name matches
    REGEX (the pin, or what replaced it); None if none does."""
    return next((f for f in read_used(used) if re.fullmatch(regex, f[1])), None)


def cmd_unpacked(args):
    """Print the unpacked tree of the package used."""
    f = used_package(args.used, args.package)
    if f is None:
        sys.exit('ERROR: no package %s in %s' % (args.package, args.used))
    print(f[5])


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
    p.add_argument('--pins', required=True)
    p = sub.add_parser('fetch')
    p.add_argument('--apt', required=True)
    p.add_argument('--cache', required=True)
    p.add_argument('--pins', required=True)
    p.add_argument('--used', required=True)
    p = sub.add_parser('unpacked')
    p.add_argument('--used', required=True)
    p.add_argument('package')
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
    try:
        {'resolve': cmd_resolve, 'fetch': cmd_fetch, 'unpacked': cmd_unpacked,
         'closure': cmd_closure, 'kernel': cmd_kernel,
         'modules': cmd_modules}[args.cmd](args)
    except (debian.AptError, conf.ConfError) as e:
        sys.exit('ERROR: %s' % e)
    except FileNotFoundError as e:
        sys.exit('ERROR: no %s (the pins: configs/; what was used: run '
                 'scripts/three-level-fetch.sh)' % e.filename)


if __name__ == '__main__':
    main()
