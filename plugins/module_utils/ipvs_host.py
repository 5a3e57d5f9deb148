# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run ipvsadm on the managed host: read the table, apply -R batches, wait for draining.

This is the only place in the collection that executes ipvsadm. Every call is an argv list;
rule lines go to ``ipvsadm -R`` on stdin, never through a shell.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time

from ansible_collections.lvs.cluster.plugins.module_utils.ipvs import (
    IpvsParseError, live_table, parse_list, parse_thresholds, set_thresholds,
)

C_LOCALE = {'LC_ALL': 'C', 'LANG': 'C'}


class Ipvsadm(object):
    def __init__(self, module):
        self.module = module
        self.path = module.get_bin_path('ipvsadm')
        if not self.path:
            module.fail_json(msg='ipvsadm was not found on the host; install the ipvsadm package')

    def run(self, args, data=None):
        rc, out, err = self.module.run_command([self.path] + args, data=data, environ_update=C_LOCALE)
        return self._check(args, rc, out, err)

    def _check(self, args, rc, out, err):
        """Fail the module as run() does when ipvsadm `args` exited with rc; else return out."""
        if rc != 0 and ("Can't initialize ipvs" in err or 'Protocol not available' in err):
            self.module.fail_json(msg='IPVS is not available on this host (is the ip_vs kernel module '
                                      'loadable?): %s' % err.strip(), rc=rc)
        if rc != 0:
            self.module.fail_json(msg='ipvsadm %s failed: %s' % (' '.join(args), err.strip()),
                                  rc=rc, stdout=out, stderr=err)
        return out

    def _start(self, argv, environ_update):
        """Start argv (a list, no shell) in the background, with the environment run_command() gives.

        Returns a _Started whose wait() gives (rc, stdout, stderr) as text; raises OSError when the
        process cannot be started. Only read() uses this, for the listing run beside run_command().
        """
        env = os.environ.copy()
        env.update(self.module.run_command_environ_update or {})
        env.update(environ_update)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                close_fds=True, encoding='utf-8', errors='surrogateescape')
        return _Started(proc)

    def _run_both(self, first, second):
        """Output of ipvsadm `first` and `second`, run at the same time; errors as run() reports them.

        `second` runs in the background while `first` goes through run_command(); when it cannot be
        started (or its output not be read) it runs through run_command() afterwards. Both are
        collected before either is checked, so no process is left behind and an error of `first` is
        reported first, as when they ran one after the other.
        """
        try:
            started = self._start([self.path] + second, environ_update=C_LOCALE)
        except OSError:
            started = None
        try:
            first_result = self.module.run_command([self.path] + first, environ_update=C_LOCALE)
        finally:
            second_result = started.wait() if started is not None else None
        out = self._check(first, *first_result)
        if second_result is None:
            return out, self.run(second)
        return out, self._check(second, *second_result)

    def read(self, expected=None, thresholds=None):
        """Live table -> (table, thresholds as parse_thresholds() returns them).

        ``expected``: the table the live one is probably equal to; its services are returned
        as they are (not copied, not to be modified) where `ipvsadm -S -n` prints exactly their
        lines, which saves parsing them (see ipvs.live_table()).
        ``thresholds``: what an earlier read() returned, when nothing since can have changed a
        threshold; `ipvsadm -L -n --thresholds` (run because -S leaves thresholds out, at the same
        time as `ipvsadm -S -n`) is then not run again.
        """
        if thresholds is None:
            save, listing = self._run_both(['-S', '-n'], ['-L', '-n', '--thresholds'])
        else:
            save, listing = self.run(['-S', '-n']), None
        try:
            table = live_table(save, expected)
            if listing is not None:
                thresholds = parse_thresholds(listing)
            set_thresholds(table, thresholds, expected)
        except IpvsParseError as e:
            self.module.fail_json(msg='cannot parse ipvsadm output: %s' % e)
        return table, thresholds

    def active_connections(self):
        counts = {}
        try:
            for sid, _cols, dests in parse_list(self.run(['-L', '-n', '--thresholds'])):
                for did, cols in dests:
                    counts[(sid, did)] = int(cols[2])
        except (IpvsParseError, IndexError, ValueError) as e:
            self.module.fail_json(msg='cannot parse ipvsadm -L --thresholds output: %s' % e)
        return counts

    def restore(self, lines):
        """Apply lines with ONE `ipvsadm -R`.

        -R keeps going after a line the kernel rejects (it prints the error and the exit status
        is that of the last line), so any stderr output is treated as a failure; the caller
        also re-reads the table and compares it with what was wanted.
        """
        if not lines:
            return
        rc, out, err = self.module.run_command([self.path, '-R'], data='\n'.join(lines),
                                               environ_update=C_LOCALE)
        if rc != 0 or err.strip():
            self.module.fail_json(msg='ipvsadm -R failed: %s' % (err.strip() or 'exit status %d' % rc),
                                  rc=rc, stdout=out, stderr=err, commands=lines)

    def wait_idle(self, keys, timeout, interval=1.0):
        """Wait until every (service_id, dest_id) has no active connection, or timeout seconds.

        Returns the keys still busy when the timeout passed.
        """
        sleep, clock = time.sleep, time.monotonic  # looked up here so tests can replace them
        deadline = clock() + timeout
        while True:
            counts = self.active_connections()
            busy = [k for k in keys if counts.get(k, 0) > 0]
            remaining = deadline - clock()
            if not busy or remaining <= 0:
                return busy
            sleep(min(interval, remaining))


class _Started(object):
    """A process started by Ipvsadm._start(): its output is read by a thread from the start, so
    a listing larger than the pipe buffer does not stall while run_command() runs the other."""

    def __init__(self, proc):
        self._proc = proc
        self._result = None
        self._thread = threading.Thread(target=self._collect)
        self._thread.daemon = True
        self._thread.start()

    def _collect(self):
        out, err = self._proc.communicate()
        self._result = (self._proc.returncode, out, err)

    def wait(self):
        """(rc, stdout, stderr) once the process has exited and its output is read; None when
        reading it failed (the caller then runs the command again through run_command())."""
        self._thread.join()
        return self._result
