#!/usr/bin/env python3
"""The workbench's one client of Debian's archive: packages fetched through
a private apt configuration, never touching the host's dpkg architectures
or apt sources.

  debian.py fetch NAME ARCH VERSION|newest DESTDIR [SHA256]
      Print the path of NAME's .deb (downloaded into DESTDIR unless a .deb of
      that version whose sha256 is the index's is there already), then its
      version. VERSION: an exact version, or "newest". With SHA256 the .deb
      must match it; if that version is not served any more the newest one
      is taken, with a warning on stderr.
  debian.py versions NAME ARCH
      Every version of NAME served, one "VERSION SUITE" line each (a version
      in two suites has two lines), newest first.

Environment: DEBPKG_SUITE, the Debian releases to look in, '+' between two:
bookworm (the default: bookworm, -updates, -security and -backports), trixie
(the same four of trixie), unstable. DEBPKG_MIRROR: the mirror (default
http://deb.debian.org; its debian/ and debian-security/). The private apt
state lives in $WB_CACHE/apt-ARCH (apt-ARCH-SUITE for another
DEBPKG_SUITE); its lists are updated when older than a day, or when the
sources changed (another mirror); lists that could not be updated but are of
the same sources are used with a warning.

The class Apt is the client itself: apt-get for update and download (it
checks the signed indexes and the .debs' hashes); the indexes are read here,
which is much faster than one apt-cache call per package.
"""

import functools
import hashlib
import os
import re
import subprocess
import sys
import time

MIRROR = 'http://deb.debian.org'
KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg'
RELEASES = ('bookworm', 'trixie')
DAY = 24 * 3600
# The fields of an index record kept
FIELDS = ('Package', 'Version', 'Architecture', 'SHA256', 'Depends',
          'Pre-Depends', 'Filename')


class AptError(Exception):
    pass


def warn(msg):
    print('WARNING: ' + msg, file=sys.stderr, flush=True)


def say(msg):
    print('==> ' + msg, file=sys.stderr, flush=True)


def suites_of(spec):
    """The suites of SPEC, Debian releases with '+' between two: bookworm,
    trixie (a stable release's four suites), unstable."""
    out = []
    for r in spec.split('+'):
        if r in RELEASES:
            out += [r, r + '-updates', r + '-security', r + '-backports']
        elif r == 'unstable':
            out.append(r)
        else:
            raise AptError("DEBPKG_SUITE=%s: bookworm, trixie or unstable ('+' between two)"
                           % spec)
    return out


def sources(suites, mirror=MIRROR):
    """sources.list for SUITES (suite names: bookworm, trixie-security...)."""
    return ''.join('deb [signed-by=%s] %s/%s %s main\n'
                   % (KEYRING, mirror, 'debian-security' if s.endswith('-security') else 'debian', s)
                   for s in suites)


# Debian's version order (deb-version(7)), as dpkg --compare-versions
def _order(c):
    if c == '~':
        return -1
    if c.isdigit():
        return 0
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _compare_part(a, b):
    while a or b:
        na = re.match(r'[^0-9]*', a).group()
        nb = re.match(r'[^0-9]*', b).group()
        for i in range(max(len(na), len(nb))):
            oa = _order(na[i]) if i < len(na) else 0
            ob = _order(nb[i]) if i < len(nb) else 0
            if oa != ob:
                return -1 if oa < ob else 1
        a, b = a[len(na):], b[len(nb):]
        da = re.match(r'[0-9]*', a).group()
        db = re.match(r'[0-9]*', b).group()
        if int(da or 0) != int(db or 0):
            return -1 if int(da or 0) < int(db or 0) else 1
        a, b = a[len(da):], b[len(db):]
    return 0


def _split(v):
    epoch, _, rest = v.rpartition(':') if ':' in v else ('0', '', v)
    upstream, _, revision = rest.rpartition('-') if '-' in rest else (rest, '', '')
    return int(epoch or 0), upstream, revision


def vercmp(a, b):
    """<0, 0 or >0 as Debian version A is older, the same or newer than B."""
    ea, ua, ra = _split(a)
    eb, ub, rb = _split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _compare_part(ua, ub) or _compare_part(ra, rb)


def newest_first(records):
    """RECORDS sorted by version, newest first (a stable sort: one version's
    records keep their order)."""
    return sorted(records, key=functools.cmp_to_key(
        lambda x, y: vercmp(y['Version'], x['Version'])))


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def deb_name(pkg, version, arch):
    """The file name apt-get download gives a .deb."""
    return '%s_%s_%s.deb' % (pkg, version.replace(':', '%3a'), arch)


def parse_block(block, suite):
    rec = {}
    for line in block.splitlines():
        if line[:1] in (' ', '\t'):
            continue
        key, _, val = line.partition(':')
        if key in FIELDS:
            rec[key] = val.strip()
    rec['Suite'] = suite
    return rec


class Apt:
    """A private apt configuration under TOP for the suites SUITES and one
    architecture ARCH (its Packages index holds ARCH's and "all" packages).
    LABEL names the suites in messages (default: SUITES joined by '+')."""

    def __init__(self, top, suites, arch, mirror=None, label=None):
        self.top, self.arch = top, arch
        self.label = label or '+'.join(suites)
        mirror = mirror or os.environ.get('DEBPKG_MIRROR') or MIRROR
        for d in ('state/lists/partial', 'cache/archives/partial', 'etc'):
            os.makedirs(os.path.join(top, d), exist_ok=True)
        self.sources = sources(suites, mirror)
        self.source_list = os.path.join(top, 'etc/sources.list')
        if read(self.source_list) != self.sources:
            with open(self.source_list, 'w') as f:
                f.write(self.sources)
        # what the lists were fetched from (lists of another mirror are not
        # this one's); as old as they are
        self.stamp = os.path.join(top, 'state/updated')
        self.opts = [
            '-o', 'Dir::State=' + os.path.join(top, 'state'),
            '-o', 'Dir::State::status=/dev/null',
            '-o', 'Dir::Cache=' + os.path.join(top, 'cache'),
            '-o', 'Dir::Etc::SourceList=' + self.source_list,
            '-o', 'Dir::Etc::SourceParts=/dev/null',
            '-o', 'Dir::Etc::Preferences=/dev/null',
            '-o', 'Dir::Etc::PreferencesParts=/dev/null',
            '-o', 'APT::Architecture=' + arch,
            '-o', 'APT::Architectures::=' + arch,
            '-o', 'APT::Sandbox::User=root',
            '-o', 'Debug::NoLocking=1',
            '-q',
        ]
        self.updated = False
        self.index = None

    def apt_get(self, *args, cwd=None):
        """apt-get ARGS in the private configuration, its output on stderr."""
        return subprocess.run(['apt-get'] + self.opts + list(args), cwd=cwd,
                              stdout=sys.stderr).returncode == 0

    def lists(self):
        """(path, suite) of each Packages index of ARCH of the sources'
        suites, in their order."""
        d = os.path.join(self.top, 'state/lists')
        order = {}
        for line in self.sources.splitlines():
            order.setdefault(line.split()[3], len(order))
        out = []
        for n in os.listdir(d):
            m = re.search(r'_dists_([^_]+)_.*_binary-%s_Packages(\.(lz4|xz|gz|bz2|zst))?$'
                          % re.escape(self.arch), n)
            if m and m.group(1) in order:
                out.append((order[m.group(1)], n, m.group(1)))
        return [(os.path.join(d, n), suite) for _, n, suite in sorted(out)]

    def update(self):
        """apt-get update, once; AptError if any suite failed."""
        if self.updated:
            return
        say('apt update (private configuration under %s)' % self.top)
        # --error-on=any: without it a suite that could not be fetched (no
        # network) is only a "W:", and the lists would silently be old ones.
        if not self.apt_get('update', '--error-on=any'):
            raise AptError('apt-get update (private, %s, %s) failed'
                           % (self.arch, self.label))
        with open(self.stamp, 'w') as f:
            f.write(self.sources)
        self.updated = True
        self.index = None

    def refresh(self):
        """Lists at most a day old, of these sources: updated if not; lists
        of the same sources that could not be updated are used with a
        warning (the stamp is left, so the next call tries again)."""
        same = read(self.stamp) == self.sources
        if same and os.path.getmtime(self.stamp) > time.time() - DAY:
            return
        try:
            self.update()
        except AptError as e:
            if not same:
                raise
            warn('%s: using the package lists of %s' % (e, time.strftime(
                '%Y-%m-%d %H:%M', time.localtime(os.path.getmtime(self.stamp)))))

    def scan(self, name=None):
        """The index records, of NAME only if given."""
        if not self.lists():
            self.update()
        for path, suite in self.lists():
            data = b'\n' + subprocess.run(['/usr/lib/apt/apt-helper', 'cat-file', path],
                                           capture_output=True, check=True).stdout
            if name is None:
                blocks = data.decode(errors='replace').split('\n\n')
            else:
                # a search of the bytes: much faster than decoding them all
                blocks, key, at = [], ('\nPackage: %s\n' % name).encode(), 0
                while (at := data.find(key, at)) >= 0:
                    end = data.find(b'\n\n', at + 1)
                    block = data[at + 1:end if end >= 0 else len(data)]
                    blocks.append(block.decode(errors='replace'))
                    at += len(key)
            for block in blocks:
                rec = parse_block(block, suite)
                if 'Package' in rec and (name is None or rec['Package'] == name):
                    yield rec

    def load(self):
        if self.index is None:
            # built aside: a scan with no lists yet (a new cache) updates
            # them first, which drops the index it had
            index = {}
            for rec in self.scan():
                index.setdefault(rec['Package'], []).append(rec)
            self.index = index

    def records(self, pkg):
        """PKG's records of ARCH and all, newest first: from the whole index
        once loaded, else from a scan for PKG alone."""
        recs = self.index.get(pkg, []) if self.index is not None else self.scan(pkg)
        return newest_first(r for r in recs if r.get('Architecture') in (self.arch, 'all'))

    def newest(self, pkg, arch):
        self.load()
        return next((r for r in self.records(pkg) if r['Architecture'] == arch), None)

    def record(self, pkg, arch, version):
        self.load()
        return next((r for r in self.records(pkg) if r['Architecture'] == arch
                     and r['Version'] == version), None)

    def names(self, regex):
        self.load()
        rx = re.compile(regex)
        return sorted(n for n in self.index if rx.fullmatch(n))

    def download(self, specs, dest):
        """specs: [(pkg, arch, version)], one apt-get call for all."""
        return self.apt_get('download', *['%s:%s=%s' % s for s in specs], cwd=dest)

    def served(self, name):
        """NAME's records, newest first; AptError if there is none."""
        recs = list(self.records(name))
        if not recs:
            raise AptError('%s (%s) is not served by Debian %s' % (name, self.arch, self.label))
        return recs

    def fetch(self, name, want, dest, sha=None):
        """(path, version) of NAME's .deb in DEST: version WANT ("newest", or
        the newest with a warning when WANT is not served), whose sha256 is
        SHA when WANT is taken."""
        recs = self.served(name)
        rec = next((r for r in recs if r['Version'] == want), None)
        if rec is None:
            rec, sha = recs[0], None
            if want != 'newest':
                warn('%s %s (%s) is no longer served; using the newest, %s'
                     % (name, want, self.arch, rec['Version']))
        os.makedirs(dest, exist_ok=True)
        path = os.path.join(dest, deb_name(name, rec['Version'], rec['Architecture']))
        if not (os.path.exists(path) and sha256(path) == rec['SHA256']):
            spec = (name, self.arch, rec['Version'])
            if not self.download([spec], dest):
                raise AptError('apt-get download %s:%s=%s failed' % spec)
            if not os.path.exists(path):
                raise AptError('no .deb of %s %s in %s' % (name, rec['Version'], dest))
        have = sha256(path)
        if sha and have != sha:
            raise AptError('%s: sha256 %s, not the pinned %s' % (path, have, sha))
        return path, rec['Version']


def read(path):
    try:
        with open(path, encoding='utf-8') as f:
            return f.read()
    except FileNotFoundError:
        return None


def cli_apt(arch):
    """The Apt of the command line: DEBPKG_SUITE's, under $WB_CACHE."""
    cache = os.environ.get('WB_CACHE')
    if not cache:
        raise AptError('no WB_CACHE (scripts/lib.sh sets it)')
    spec = os.environ.get('DEBPKG_SUITE', '')
    top = os.path.join(cache, 'apt-' + arch + ('-' + spec if spec else ''))
    apt = Apt(top, suites_of(spec or 'bookworm'), arch, label=spec or 'bookworm')
    apt.refresh()
    return apt


def main(argv):
    usage = ('usage: debian.py fetch NAME ARCH VERSION|newest DESTDIR [SHA256]\n'
             '       debian.py versions NAME ARCH')
    try:
        if argv[:1] == ['versions'] and len(argv) == 3:
            for r in cli_apt(argv[2]).served(argv[1]):
                print(r['Version'], r['Suite'])
        elif argv[:1] == ['fetch'] and len(argv) in (5, 6):
            name, arch, want, dest = argv[1:5]
            path, version = cli_apt(arch).fetch(name, want, dest, argv[5] if len(argv) > 5 else None)
            print(path)
            print(version)
        else:
            sys.exit(usage)
    except AptError as e:
        sys.exit('ERROR: %s' % e)


if __name__ == '__main__':
    main(sys.argv[1:])
