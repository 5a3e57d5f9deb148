# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run ipvsadm on the managed host: read the table, apply -R batches, wait for draining.

This is the only place in the collection that executes ipvsadm, and it does so only through
AnsibleModule.run_command(). Every call is an argv list; rule lines go to ``ipvsadm -R`` on stdin,
never through a shell.
"""

from __future__ import annotations

import os
import threading
import time

from ansible_collections.lvs.cluster.plugins.module_utils.ipvs import (
    IpvsParseError, live_table, parse_thresholds, set_thresholds,
)

C_LOCALE = {'LC_ALL': 'C', 'LANG': 'C'}
NOT_FOUND = 'ipvsadm was not found on the host; install the ipvsadm package'


class Ipvsadm(object):
    """ipvsadm on the host.

    Without ipvsadm the module fails, except in check mode: a package task earlier in the same
    check-mode run would have installed it, so ``installed`` is then False and the caller reports on
    an empty table (read() returns one) with a warning; nothing is run.
    In check mode nothing is run either while the ip_vs kernel module is not loaded (``loaded`` False): ipvsadm
    would load it, with the kernel's default options instead of those a task of the same run would have written
    (modprobe.d, e.g. conn_tab_bits), and they hold until it is unloaded.
    """

    # Exists (in every network namespace) once ip_vs is loaded.
    PROC_IP_VS = '/proc/net/ip_vs'

    def __init__(self, module):
        self.module = module
        self.path = module.get_bin_path('ipvsadm')
        self.installed = bool(self.path)
        if not self.installed and not module.check_mode:
            module.fail_json(msg=NOT_FOUND)
        self.loaded = not module.check_mode or os.path.exists(self.PROC_IP_VS)
        # What the caller may read: an absent ipvsadm or an unloaded ip_vs (check mode) is an empty table.
        self.readable = self.installed and self.loaded

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

    def _run_in_thread(self, argv, environ_update):
        """module.run_command(argv) in a second thread, started now; raises RuntimeError when no
        thread can be started. Returns a _Running whose wait() gives (rc, stdout, stderr)."""
        return _Running(self.module, argv, environ_update)

    def _run_both(self, first, second):
        """Output of ipvsadm `first` and `second`, run at the same time; errors as run() reports them.

        Both go through run_command(): `second` from a second thread while `first` runs in this
        one. When that thread cannot be started, or run_command() raised in it (it does not fail the
        module from there), `second` runs again through run() afterwards, which reports the error.
        Both are collected before either is checked, so no process is left behind and an error of
        `first` is reported first, as when they ran one after the other.
        """
        try:
            running = self._run_in_thread([self.path] + second, environ_update=C_LOCALE)
        except RuntimeError:
            running = None
        try:
            first_result = self.module.run_command([self.path] + first, environ_update=C_LOCALE)
        finally:
            second_result = running.wait() if running is not None else None
        out = self._check(first, *first_result)
        if second_result is None:
            return out, self.run(second)
        return out, self._check(second, *second_result)

    def read(self, expected=None, thresholds=None):
        """Live table -> (table, thresholds as parse_thresholds() returns them, same).

        ``expected``: the table the live one is probably equal to; where `ipvsadm -S -n` prints
        exactly the lines of one of its services, that service is taken unparsed, shared (not to be
        modified), and its id is in ``same`` if its thresholds are the expected ones too (see
        ipvs.live_table() and ipvs.set_thresholds()); plan() and differences() skip those ids.
        ``thresholds``: what an earlier read() returned, when nothing since can have changed a
        threshold; `ipvsadm -L -n --thresholds` (run because -S leaves thresholds out, at the same
        time as `ipvsadm -S -n`) is then not run again.
        Without ipvsadm or ip_vs (check mode only, see the class) the table is empty and nothing runs.
        """
        if not self.readable:
            return {}, {}, frozenset()
        if thresholds is None:
            save, listing = self._run_both(['-S', '-n'], ['-L', '-n', '--thresholds'])
        else:
            save, listing = self.run(['-S', '-n']), None
        try:
            table, same = live_table(save, expected)
            if listing is not None:
                thresholds = parse_thresholds(listing)
            same = set_thresholds(table, thresholds, same)
        except IpvsParseError as e:
            self.module.fail_json(msg='cannot parse ipvsadm output: %s' % e)
        return table, thresholds, same

    def active_connections(self):
        """{(service_id, dest_id): active connections} of every real server, from -L -n --thresholds."""
        connections = {}
        try:
            parse_thresholds(self.run(['-L', '-n', '--thresholds']), connections)
        except IpvsParseError as e:
            self.module.fail_json(msg='cannot parse ipvsadm -L --thresholds output: %s' % e)
        return dict((key, active) for key, (active, _inactive) in connections.items())

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


class _Running(object):
    """module.run_command(argv) running in a second thread (Ipvsadm._run_in_thread()).

    Why AnsibleModule.run_command() may run here while the main thread runs another command:
    - each call keeps its state local (Popen, selector, output buffers); it only reads os.environ and
      the module's settings, and the one attribute it writes, ``_clean`` (the printable command line,
      reset per call), only serves debug logging and its own error messages;
    - the child is forked with a preexec_fn, which Python's documentation warns may deadlock in a
      threaded program if the child needs a lock another thread held at the fork; run_command's
      preexec_fn calls nothing (os.umask() only when an umask is given) and CPython re-initialises
      its own locks in the child before running it;
    - what must not run in this thread is fail_json(): its SystemExit would only end the thread. So
      check_rc stays off, handle_exceptions=False makes run_command() raise instead, and the main
      thread checks the result after join().
    """

    def __init__(self, module, argv, environ_update):
        self.argv = argv
        self._result = None
        self._thread = threading.Thread(target=self._run, args=(module, argv, environ_update),
                                        name='ipvsadm %s' % ' '.join(argv[1:]))
        self._thread.daemon = True
        self._thread.start()

    def _run(self, module, argv, environ_update):
        try:
            self._result = module.run_command(argv, environ_update=environ_update, handle_exceptions=False)
        except Exception:  # pylint: disable=broad-except  # run again by the main thread, which reports it
            self._result = None

    def wait(self):
        """(rc, stdout, stderr) once the command has exited and its output is read; None when
        run_command() raised (the caller then runs the command again through run())."""
        self._thread.join()
        return self._result
