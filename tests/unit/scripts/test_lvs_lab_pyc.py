# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lab/lvs_lab_pyc.py (the lab images' bytecode cache for modules imported from zip files), each case in a
Python process of its own: it patches zipimport for the whole process."""

from __future__ import annotations

import marshal
import subprocess
import sys
import zipfile
from pathlib import Path

LAB = Path(__file__).resolve().parents[3] / 'lab'

# Import lvs_lab_pyc with its cache in argv[1], then import module `m` from the zip in argv[2].
RUN = '''
import sys
sys.path.insert(0, {lab!r})
import lvs_lab_pyc
lvs_lab_pyc._DIR = sys.argv[1]
sys.path.insert(0, sys.argv[2])
import m
print(m.VALUE)
'''.format(lab=str(LAB))


def run(cache: Path, zip_path: Path) -> str:
    out = subprocess.run([sys.executable, '-c', RUN, str(cache), str(zip_path)],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def make_zip(path: Path, value: str) -> Path:
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr('m.py', 'VALUE = %r\n' % value)
    return path


def test_the_second_import_reads_the_cache_and_a_changed_source_is_compiled_afresh(tmp_path):
    cache = tmp_path / 'cache'
    first = make_zip(tmp_path / 'a.zip', 'one')
    assert run(cache, first) == 'one'
    [entry] = cache.iterdir()
    # what the cache holds is what the next import gets, even from a zip at another path
    entry.write_bytes(marshal.dumps(compile("VALUE = 'from the cache'", 'm.py', 'exec')))
    assert run(cache, make_zip(tmp_path / 'b.zip', 'one')) == 'from the cache'
    # other source text, other key
    assert run(cache, make_zip(tmp_path / 'c.zip', 'two')) == 'two'
    assert len(list(cache.iterdir())) == 2


def test_a_broken_cache_entry_falls_back_to_a_plain_compile(tmp_path):
    cache = tmp_path / 'cache'
    zip_path = make_zip(tmp_path / 'a.zip', 'one')
    assert run(cache, zip_path) == 'one'
    [entry] = cache.iterdir()
    entry.write_bytes(b'not marshal data')
    assert run(cache, zip_path) == 'one'


def test_an_unusable_cache_directory_does_not_break_the_import(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('')
    assert run(blocker / 'cache', make_zip(tmp_path / 'a.zip', 'one')) == 'one'
