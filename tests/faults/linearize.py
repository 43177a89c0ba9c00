"""Linearizability checker for the fault harness's histories.

A history is what clients saw: for each operation its invocation time, its completion time
and outcome (ok, fail, or unknown: a timeout or a lost connection, after which the operation
may or may not have taken effect), read from the JSON lines the workers write (history.py
describes the format). The checker answers whether some total order of the operations
exists that respects real time (an operation that completed before another was invoked
comes first) and the sequential specification of the object, and when there is none, where
the search got stuck.

The search is Wing and Gong's, with the memoization Lowe added: operations are events in a
doubly linked list ordered by time (an invocation and a completion per operation). The
search walks the list from the front: at an invocation it tries to linearize that operation
now (the model must accept it in the current state), removes it from the list and starts
again from the front; reaching a completion means that operation should have been
linearized already, so the last choice is undone (a stack of choices) and the next candidate
is tried. A set of (operations linearized so far, model state) pairs already explored cuts
the search: reaching the same pair again by another order can lead nowhere new.

An unknown operation's completion is placed after everything (time = infinity): it may be
linearized anywhere after its invocation, or never. Reaching such a completion means every
operation with a known outcome has been placed, so the history is linearizable. Failed
operations had no effect and are left out, except a compare-and-set refused with BadVersion,
which is a statement about the state (the version was not the expected one) and is checked.

Objects that do not interact are checked one at a time (linearizability is local: a history
is linearizable iff each object's sub-history is), so each register is its own search.

Models:
- register: state (value, version), as a ZooKeeper node's data and dataVersion. read returns
  (value, version); write sets value and increments version (an ok write reports the new
  version); cas(expected version, value) does the same only when the version is the expected
  one, and a BadVersion refusal requires that it was not. The registers exist before the
  history starts and are never deleted, so a NoNode answer is never accepted.
- fenced register (lock workload): state = the highest fencing token written; a write of
  token t succeeds only when t is not below the state (the guard), see fenced_step.

Direct checks (no search): forks() finds a register version seen with two values (a lost
write); lock_intervals() and lock_anomalies() find two clients holding the lock at once and
a fencing token that went down.

Run by hand on a kept history:  /usr/bin/python3 tests/faults/linearize.py history.jsonl
"""

import json
import math
import sys

INF = math.inf
# The search is exponential in the worst case (many concurrent unknown writes); past this
# many steps on one object it stops and says the object could not be decided.
SEARCH_STEPS_MAX = 20_000_000
# How many linearized operations before the stuck point a failure report shows.
REPORT_CONTEXT_OPS = 8
REPORT_WINDOW_OPS_MAX = 40

OK, FAIL, UNKNOWN = "ok", "fail", "info"


class Op:
    """One operation: who, what, when, and what came back."""

    __slots__ = ("process", "seq", "key", "f", "arg", "status", "result", "error", "call", "ret",
                 "index")

    def __init__(self, process, seq, key, f, arg, call, status=UNKNOWN, result=None, ret=INF,
                 error=None):
        self.process = process
        self.seq = seq
        self.key = key
        self.f = f
        self.arg = arg
        self.call = call
        self.status = status
        self.result = result
        self.ret = ret
        self.error = error
        self.index = None

    def describe(self, t0=0.0):
        end = "   ...   " if self.ret == INF else "%9.3f" % (self.ret - t0)
        what = "%s(%s)" % (self.f, "" if self.arg is None else _show(self.arg))
        if self.status == OK:
            outcome = "ok" if self.result is None else "ok %s" % _show(self.result)
        elif self.status == FAIL:
            outcome = "fail %s" % (self.error or "")
        else:
            outcome = "unknown (%s)" % (self.error or "no reply")
        return "[%9.3f, %s] p%-3s %-28s -> %s" % (self.call - t0, end, self.process, what,
                                                 outcome)


def _show(x):
    if isinstance(x, (list, tuple)):
        return ", ".join(_show(v) for v in x)
    return str(x)


# ---- models: step(state, op) -> (accepted, new state) ----


def register_step(state, op):
    value, version = state
    if op.status == FAIL and op.error == "nonode":  # the register exists all along
        return False, state
    if op.f == "read":
        return (tuple(op.result) == state), state
    if op.f == "write":
        nv = version + 1
        return (op.result is None or op.result == nv), (op.arg, nv)
    if op.f == "cas":
        expected, new_value = op.arg
        if op.status == FAIL:  # refused with BadVersion: the version was not the expected one
            return version != expected, state
        nv = version + 1
        return (version == expected and (op.result is None or op.result == nv)), (new_value, nv)
    raise ValueError("register: unknown operation %r" % op.f)


def fenced_step(state, op):
    """A register guarded by fencing tokens: write(t) applies only when t is at least the
    state (a holder may write its own token again), and an ok write says it applied; a
    refused write (fail, error 'fenced') says the state was above t."""
    if op.f == "read":
        return op.result == state, state
    if op.f == "write":
        if op.status == FAIL:
            return op.arg < state, state
        return op.arg >= state, op.arg
    raise ValueError("fenced register: unknown operation %r" % op.f)


MODELS = {"register": register_step, "fenced": fenced_step}


# ---- the search ----


class Result:
    def __init__(self, key, ok, ops, steps, undecided=False, stuck=None, best=None,
                 best_state=None):
        self.key = key
        self.ok = ok
        self.ops = ops
        self.steps = steps
        self.undecided = undecided
        self.stuck = stuck  # the op whose completion the deepest search could not pass
        self.best = best or []  # the longest linearization found, in order
        self.best_state = best_state


def check(ops, step, init, key=None, steps_max=SEARCH_STEPS_MAX):
    """Is this history of one object linearizable? ops: Op list (ok, unknown, and checked
    failures); step: the model; init: the object's state before the history."""
    ops = sorted(ops, key=lambda o: o.call)
    n = len(ops)
    for k, o in enumerate(ops):
        o.index = k
    # Nodes: 0 = head, 1 + 2k = invocation of op k, 2 + 2k = its completion. At equal times
    # invocations sort first: simultaneous operations are treated as concurrent.
    events = [(o.call, 0, 1 + 2 * k) for k, o in enumerate(ops)]
    events += [(o.ret, 1, 2 + 2 * k) for k, o in enumerate(ops)]
    events.sort()
    size = 1 + 2 * n
    nxt = [-1] * size
    prv = [-1] * size
    last = 0
    for _, _, node in events:
        nxt[last] = node
        prv[node] = last
        last = node

    def lift(k):
        for node in (1 + 2 * k, 2 + 2 * k):
            nxt[prv[node]] = nxt[node]
            if nxt[node] != -1:
                prv[nxt[node]] = prv[node]

    def unlift(k):
        for node in (2 + 2 * k, 1 + 2 * k):
            nxt[prv[node]] = node
            if nxt[node] != -1:
                prv[nxt[node]] = node

    state = init
    linearized = 0
    depth = 0
    cache = set()
    stack = []  # (invocation node, state before it)
    entry = nxt[0]
    steps = 0
    best_depth, best, best_state, stuck = -1, [], init, None
    while nxt[0] != -1:
        steps += 1
        if steps > steps_max:
            return Result(key, False, ops, steps, undecided=True, stuck=stuck, best=best,
                          best_state=best_state)
        k = (entry - 1) // 2
        if entry % 2 == 1:  # an invocation: try to linearize op k here
            accepted, new_state = step(state, ops[k])
            if accepted:
                new_linearized = linearized | (1 << k)
                if (new_linearized, new_state) not in cache:
                    cache.add((new_linearized, new_state))
                    stack.append((entry, state))
                    state, linearized = new_state, new_linearized
                    depth += 1
                    lift(k)
                    entry = nxt[0]
                    continue
            entry = nxt[entry]
            continue
        # A completion: op k had to be linearized by now.
        if ops[k].ret == INF:
            return Result(key, True, ops, steps)
        if depth > best_depth:
            best_depth, stuck, best_state = depth, ops[k], state
            best = [ops[(node - 1) // 2] for node, _ in stack]
        if not stack:
            return Result(key, False, ops, steps, stuck=stuck, best=best, best_state=best_state)
        node, state = stack.pop()
        j = (node - 1) // 2
        linearized &= ~(1 << j)
        depth -= 1
        unlift(j)
        entry = nxt[node]
    return Result(key, True, ops, steps)


# ---- histories ----


def load(lines):
    """Ops from the harness's JSON lines (an iterable of str). Records:
    {"type": "invoke", "p": worker, "i": seq, "key": k, "f": f, "arg": a, "t": seconds}
    {"type": "ok" | "fail" | "info", "p": worker, "i": seq, "result": r, "error": e, "t": s}
    Lines with other types (nemesis events) are ignored here. An invocation without a
    completion (the worker was killed) is unknown."""
    pending = {}
    ops = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        rec = json.loads(line)
        kind = rec.get("type")
        if kind == "invoke":
            op = Op(rec["p"], rec["i"], rec["key"], rec["f"], _tup(rec.get("arg")), rec["t"])
            pending[(rec["p"], rec["i"])] = op
            ops.append(op)
        elif kind in (OK, FAIL, UNKNOWN):
            op = pending.pop((rec["p"], rec["i"]))
            op.status = kind
            op.result = _tup(rec.get("result"))
            op.error = rec.get("error")
            if kind != UNKNOWN:
                op.ret = rec["t"]
    return ops


def _tup(x):
    return tuple(_tup(v) for v in x) if isinstance(x, list) else x


def relevant(op):
    """Whether an op constrains the search: ok ops; unknown ops that may have had an effect
    (reads have none); failures that state something about the object (a CAS refused with
    BadVersion, a fenced write refused by its guard, NoNode from a register that exists)."""
    if op.status == OK:
        return True
    if op.status == UNKNOWN:
        return op.f != "read"
    return op.error in ("badversion", "fenced", "nonode")


def check_history(ops, model="register", init=None, steps_max=SEARCH_STEPS_MAX):
    """Checks every key of a history; init: {key: initial state}. Returns [Result]."""
    step = MODELS[model]
    by_key = {}
    for op in ops:
        if relevant(op):
            by_key.setdefault(op.key, []).append(op)
    init = init or {}
    return [check(by_key[k], step, init.get(k), key=k, steps_max=steps_max)
            for k in sorted(by_key)]


def classify(result):
    """A name for what went wrong at the stuck point, from the op the search could not pass
    and the state the longest linearization reached (register model):
    - stale read: a read returned an older version than that state (it missed writes that
      had completed, or that other reads had already seen), and no version of the
      register was ever seen with two values;
    - lost write: some version of the register was acknowledged or read with two values
      (forks), or an acknowledged write or CAS reported a version the state had already
      passed (the register went back: an acknowledged update vanished), or the register
      answered NoNode;
    - bad cas: a CAS refused with BadVersion although nothing else could have changed the
      version, or accepted although it could not have been current;
    - other."""
    stuck, state = result.stuck, result.best_state
    if stuck is None or not isinstance(state, tuple):
        return "other"
    version = state[1]
    if stuck.f == "read" and stuck.status == FAIL and stuck.error == "nonode":
        return "lost write (the register itself is gone)"
    if forks(result.ops):
        return "lost write (a version was acknowledged with two values, see forks)"
    if stuck.f == "read" and stuck.status == OK and stuck.result[1] < version:
        return "stale read"
    if stuck.f in ("write", "cas") and stuck.status == OK and stuck.result is not None \
            and stuck.result <= version:
        return "lost write"
    if stuck.f == "cas":
        return "bad cas"
    return "other"


def forks(ops):
    """Direct check of the register histories for lost updates: every acknowledged write or
    CAS and every read names a (version, value) of its register; the writers' values are
    unique, so one version seen with two values means the register's history forked: an
    acknowledged update vanished and another took its version (or two leaders accepted
    writes). Returns [(key, version, op with one value, op with the other)]."""
    seen = {}
    found = []
    for op in sorted(ops, key=lambda o: o.ret):
        if op.status != OK:
            continue
        if op.f == "read":
            value, version = op.result
        elif op.f == "write" and op.result is not None:
            value, version = op.arg, op.result
        elif op.f == "cas" and op.result is not None:
            value, version = op.arg[1], op.result
        else:
            continue
        first = seen.setdefault((op.key, version), op)
        first_value = first.result[0] if first.f == "read" else (
            first.arg if first.f == "write" else first.arg[1])
        if first_value != value and not any(k == op.key and v == version
                                            for k, v, _, _ in found):
            found.append((op.key, version, first, op))
    return found


def lock_intervals(records):
    """[(start, end, process, token)]: when each client believed it held the lock, from
    the lock records (lockworker.py): from "acquired" to "released" or "lost"; an interval
    left open ends at that client's last record."""
    last_t = {}
    for r in records:
        if "p" in r and "t" in r:
            last_t[r["p"]] = max(last_t.get(r["p"], r["t"]), r["t"])
    open_ = {}
    out = []
    for r in sorted((r for r in records if r.get("type") == "lock"), key=lambda r: r["t"]):
        p = r["p"]
        if r["event"] == "acquired":
            open_[p] = (r["t"], r["token"])
        elif p in open_:
            start, token = open_.pop(p)
            out.append((start, r["t"], p, token))
    for p, (start, token) in open_.items():
        out.append((start, last_t.get(p, start), p, token))
    out.sort()
    return out


def lock_anomalies(intervals):
    """(overlaps, regressions): pairs of holding intervals of different clients that
    overlap in time (two holders), and acquisitions whose token is not above the previous
    acquisition's (tokens must only grow)."""
    overlaps = []
    for k, a in enumerate(intervals):
        for b in intervals[k + 1:]:
            if b[0] >= a[1]:
                break
            if b[2] != a[2] or b[3] != a[3]:
                overlaps.append((a, b))
    regressions = [(a, b) for a, b in zip(intervals, intervals[1:]) if b[3] <= a[3]]
    return overlaps, regressions


def report(result, t0=None):
    """A human account of a failed check: the longest linearization's last steps, the state
    it reached, the operation it could not get past, and the window of operations around
    that point (every op whose interval overlaps the stuck op's)."""
    ops = result.ops
    if t0 is None:
        t0 = min((o.call for o in ops), default=0.0)
    lines = []
    if result.undecided:
        lines.append("key %s: UNDECIDED after %d search steps (%d ops)"
                     % (result.key, result.steps, len(ops)))
    else:
        lines.append("key %s: NOT LINEARIZABLE (%d ops, %d search steps)"
                     % (result.key, len(ops), result.steps))
    if result.stuck is None:
        return "\n".join(lines)
    stuck = result.stuck
    lines.append("  looks like: %s" % classify(result))
    placed = set(id(o) for o in result.best)
    lines.append("  the longest linearization places %d ops; its last ones:"
                 % len(result.best))
    for o in result.best[-REPORT_CONTEXT_OPS:]:
        lines.append("    " + o.describe(t0))
    lines.append("  state then: %s" % (_show(result.best_state),))
    lines.append("  no remaining op can be placed next and still let this one complete:")
    lines.append("    " + stuck.describe(t0))
    # The window: ops not placed that were invoked before the stuck op completed and that
    # complete after the last placed op began (they were candidates at the stuck point).
    start = max((o.call for o in result.best), default=-INF)
    window = [o for o in ops if id(o) not in placed and o.call <= stuck.ret and o.ret >= start
              and o is not stuck]
    window.sort(key=lambda o: o.call)
    lines.append("  the other candidates at that point (%d):" % len(window))
    for o in window[:REPORT_WINDOW_OPS_MAX]:
        lines.append("    " + o.describe(t0))
    if len(window) > REPORT_WINDOW_OPS_MAX:
        lines.append("    ... %d more" % (len(window) - REPORT_WINDOW_OPS_MAX))
    return "\n".join(lines)


def main(argv):
    if len(argv) < 2:
        print("usage: linearize.py HISTORY.jsonl [register|fenced]", file=sys.stderr)
        return 2
    model = argv[2] if len(argv) > 2 else "register"
    with open(argv[1]) as f:
        lines = f.readlines()
    init = {}
    for line in lines:
        rec = json.loads(line) if line.strip() else {}
        if rec.get("type") == "init":
            init[rec["key"]] = _tup(rec["state"])
    ops = load(lines)
    bad = 0
    for r in check_history(ops, model, init):
        if r.ok:
            print("key %s: linearizable (%d ops, %d steps)" % (r.key, len(r.ops), r.steps))
        else:
            bad += 1
            print(report(r))
    print("anomalies: %d" % bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
