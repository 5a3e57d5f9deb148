"""Lab images only: keep the bytecode of modules imported from zip files (Ansible's AnsiballZ payloads).

zipimport compiles every source file at every import and never writes .pyc files, so each Ansible module run
compiles ansible.module_utils afresh: under the lab's software emulation, about 1 s of a module run's 2 to 3 s
(lab/README.md). Loaded by a .pth file (build-image.sh). The cache is keyed by the
source text itself, so changed code is compiled afresh; on any error the import compiles as usual.
"""
import marshal
import os
import sys
import zipimport

_DIR = '/var/cache/lvs-lab-pyc/' + sys.implementation.cache_tag
_compile = zipimport._compile_source


def _cached_compile(pathname, source):
    try:
        import hashlib  # here, not above: most Python processes in the lab never import from a zip

        text = source if isinstance(source, bytes) else source.encode()
        # the zip's own path changes with every run: the key holds only the file's path inside it
        inner = pathname.split('.zip' + os.sep, 1)[-1]
        name = hashlib.sha256(inner.encode() + b'\0' + text).hexdigest()
        path = os.path.join(_DIR, name)
        try:
            with open(path, 'rb') as f:
                data = f.read()
            return marshal.loads(data)  # loads(read()): marshal.load(f) reads in small pieces, 4 times slower here
        except OSError:
            pass
        code = _compile(pathname, source)
        if os.geteuid() == 0:
            os.makedirs(_DIR, mode=0o755, exist_ok=True)
            tmp = '%s.%d' % (path, os.getpid())
            with open(tmp, 'wb') as f:
                marshal.dump(code, f)
            os.replace(tmp, path)
        return code
    except Exception:  # the cache must never break an import
        return _compile(pathname, source)


zipimport._compile_source = _cached_compile
