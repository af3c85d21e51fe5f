#!/usr/bin/env python3
"""Gives every thread of the processes named a shorter scheduler slice (EEVDF,
Linux >= 6.12: `sched_attr.sched_runtime` of a SCHED_OTHER task): a task with a
shorter slice than the running one preempts it when woken, instead of waiting out
the running task's protected slice.

Usage: slice.py MICROSECONDS PID...
"""
import ctypes
import os
import struct
import sys

SYS_SCHED_SETATTR = 314  # x86_64
SYS_SCHED_GETATTR = 315


def set_slice(tid, ns):
    libc = ctypes.CDLL(None, use_errno=True)
    # struct sched_attr, version 0 (48 bytes): size, policy, flags, nice, priority,
    # runtime, deadline, period.
    get = ctypes.create_string_buffer(48)
    if libc.syscall(SYS_SCHED_GETATTR, tid, get, 48, 0) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    size, policy, flags, nice, prio, _rt, dl, period = struct.unpack("IIQiIQQQ", get.raw)
    attr = struct.pack("IIQiIQQQ", 48, policy, flags, nice, prio, ns, dl, period)
    if libc.syscall(SYS_SCHED_SETATTR, tid, ctypes.c_char_p(attr), 0) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def main():
    us = int(sys.argv[1])
    for pid in sys.argv[2:]:
        for tid in os.listdir(f"/proc/{pid}/task"):
            set_slice(int(tid), us * 1000)


if __name__ == "__main__":
    main()
