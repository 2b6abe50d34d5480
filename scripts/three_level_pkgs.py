#!/usr/bin/env python3
"""Debian arm64 packages for the three-level machine, through a private apt
configuration (the host's dpkg architectures and sources stay untouched).

  three_level_pkgs.py resolve --apt DIR ROOT...    print pin lines for ROOTs and their library closure
  three_level_pkgs.py fetch --apt DIR --cache DIR --pins FILE --used FILE
                                          download, check sha256, unpack; write what was used
  three_level_pkgs.py closure --used FILE --role R ELF...
                                          list the shared libraries ELFs need (with their loader)
  three_level_pkgs.py modules --moddir DIR NAME... list kernel modules NAMEs need, in load order

A ROOT is ROLE:PACKAGE, with a trailing '!' when its Depends are not to be
walked (data, firmware, a kernel). A pin line is
  ROLE PACKAGE ARCH VERSION SHA256 [ALT]
where ALT, if any, is a regular expression for the package names that may
replace a package gone from the mirror (the newest match is taken).
"""

import argparse
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
    warning, and must match the index."""
    apt = Apt(args.apt)
    debs = os.path.join(args.cache, 'debs')
    roots = os.path.join(args.cache, 'root')
    os.makedirs(debs, exist_ok=True)
    os.makedirs(roots, exist_ok=True)
    chosen = []   # (role, pkg, arch, version, sha256, pinned)
    fell_back = 0
    for f in read_pins(args.pins):
        role, pkg, arch, version, want = f[:5]
        alt = f[5] if len(f) > 5 else None
        path = os.path.join(debs, deb_name(pkg, version, arch))
        if os.path.exists(path) and sha256(path) == want:
            chosen.append((role, pkg, arch, version, want, True))
            continue
        if apt.record(pkg, arch, version) is None:
            apt.update()
        rec = apt.record(pkg, arch, version)
        if rec is not None:
            if rec['SHA256'] != want:
                sys.exit('ERROR: %s %s: the index says sha256 %s, the pin %s'
                         % (pkg, version, rec['SHA256'], want))
            chosen.append((role, pkg, arch, version, want, True))
            continue
        best = None
        for name in [pkg] + (apt.names(alt) if alt else []):
            r = apt.newest(name, arch)
            if r and (best is None or vercmp(r['Version'], best['Version']) > 0):
                best = r
        if best is None:
            sys.exit('ERROR: %s %s has left the mirror and nothing replaces it'
                     % (pkg, version))
        print('WARNING: pinned %s %s has left the mirror: using %s %s'
              % (pkg, version, best['Package'], best['Version']), flush=True)
        fell_back += 1
        chosen.append((role, best['Package'], arch, best['Version'],
                       best['SHA256'], False))
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


def cmd_modules(args):
    index = {}
    for dirpath, _, files in os.walk(args.moddir):
        for fn in files:
            m = re.match(r'(.+)\.ko(\.xz)?$', fn)
            if m:
                index[m.group(1).replace('-', '_')] = os.path.join(dirpath, fn)
    order = []

    def visit(name):
        key = name.replace('-', '_')
        if key in order:
            return
        if key not in index:
            sys.exit('ERROR: no module %s under %s' % (name, args.moddir))
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
    p = sub.add_parser('modules')
    p.add_argument('--moddir', required=True)
    p.add_argument('names', nargs='+')
    args = ap.parse_args()
    {'resolve': cmd_resolve, 'fetch': cmd_fetch, 'closure': cmd_closure,
     'modules': cmd_modules}[args.cmd](args)


if __name__ == '__main__':
    main()
