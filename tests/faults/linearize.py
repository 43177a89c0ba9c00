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


def register_behind(state, op):
    """Whether the register's state may still have to advance for `op` to be linearized:
    updates only ever raise the version, so when op needs a version not above the current
    one (and was refused in this state), no unknown write placed now can help it. The
    search uses this to try unknown ops only where they can matter."""
    version = state[1]
    if op.status == FAIL:
        return op.error == "badversion" and version == op.arg[0]
    if op.f == "read":
        return op.result[1] > version
    if op.result is not None:
        return op.result - 1 > version
    return True


MODELS = {"register": register_step, "fenced": fenced_step}
# For each model, when unknown ops are worth trying at a stuck point (None: always).
BEHIND = {"register": register_behind, "fenced": None}


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


def check(ops, step, init, key=None, steps_max=SEARCH_STEPS_MAX, behind=None):
    """Is this history of one object linearizable? ops: Op list (ok, unknown, and checked
    failures); step: the model; init: the object's state before the history.

    Operations with a known outcome are the linked list of the module docstring. Unknown
    ones are kept apart, ordered by invocation, and tried only where the walk is stuck (at
    a completion it cannot pass): an unknown op is placed only when something needs its
    effect, which is the same search in another order (every candidate is still tried)
    but keeps a few dozen unknown writes from multiplying every branch. `behind(state,
    op)`, when given, says whether the op stuck there could still be helped by updates
    placed now; when it cannot, no unknown op is tried there at all."""
    known = sorted((o for o in ops if o.ret != INF), key=lambda o: o.call)
    unknown = sorted((o for o in ops if o.ret == INF), key=lambda o: o.call)
    ops = known + unknown
    n = len(known)
    for k, o in enumerate(ops):
        o.index = k
    # Nodes: 0 = head, 1 + 2k = invocation of op k, 2 + 2k = its completion. At equal times
    # invocations sort first: simultaneous operations are treated as concurrent.
    events = [(o.call, 0, 1 + 2 * k) for k, o in enumerate(known)]
    events += [(o.ret, 1, 2 + 2 * k) for k, o in enumerate(known)]
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

    # The set of known ops linearized is kept as (f, pending): f = one past the highest
    # index linearized, pending = the indices below f not linearized. An op is linearized
    # only while its invocation precedes every remaining completion, so pending holds just
    # the ops in flight: memo keys stay small however long the history is (a bitset of
    # every op would make each key O(n)). Unknown ops placed are a set of their own.
    state = init
    f, pending, placed = 0, frozenset(), frozenset()
    depth = 0
    cache = set()
    # The stack of choices as a linked list of frames, so the deepest point is kept by
    # reference: (invocation node or -1 - position in `unknown`, completion node it was
    # stuck at (unknown only), state, f, pending, placed before it, frame below).
    top = None
    entry = nxt[0]
    resume = 0  # at a stuck completion: the first unknown op still to try there
    steps = 0
    best_depth, best_top, best_state, stuck = -1, None, init, None

    def linearization(frame):
        out = []
        while frame is not None:
            out.append(ops[(frame[0] - 1) // 2] if frame[0] > 0 else unknown[-1 - frame[0]])
            frame = frame[6]
        out.reverse()
        return out

    while nxt[0] != -1:
        steps += 1
        if steps > steps_max:
            return Result(key, False, ops, steps, undecided=True, stuck=stuck,
                          best=linearization(best_top), best_state=best_state)
        k = (entry - 1) // 2
        if entry % 2 == 1:  # an invocation: try to linearize op k here
            accepted, new_state = step(state, ops[k])
            if accepted:
                if k >= f:
                    new_f, new_pending = k + 1, pending.union(range(f, k))
                else:
                    new_f, new_pending = f, pending.difference((k,))
                memo = (new_f, new_pending, placed, new_state)
                if memo not in cache:
                    cache.add(memo)
                    top = (entry, 0, state, f, pending, placed, top)
                    state, f, pending = new_state, new_f, new_pending
                    depth += 1
                    lift(k)
                    entry = nxt[0]
                    continue
            entry = nxt[entry]
            continue
        # A completion: op k had to be linearized by now. Perhaps an unknown op invoked
        # before it took effect in between.
        moved = False
        t = ops[k].ret
        first = resume if behind is None or behind(state, ops[k]) else len(unknown)
        for u in range(first, len(unknown)):
            if unknown[u].call >= t:
                break
            if u in placed:
                continue
            accepted, new_state = step(state, unknown[u])
            if not accepted:
                continue
            new_placed = placed.union((u,))
            memo = (f, pending, new_placed, new_state)
            if memo in cache:
                continue
            cache.add(memo)
            top = (-1 - u, entry, state, f, pending, placed, top)
            state, placed = new_state, new_placed
            depth += 1
            moved = True
            break
        resume = 0
        if moved:
            entry = nxt[0]
            continue
        if depth > best_depth:
            best_depth, stuck, best_state, best_top = depth, ops[k], state, top
        if top is None:
            return Result(key, False, ops, steps, stuck=stuck, best=linearization(best_top),
                          best_state=best_state)
        node, at, state, f, pending, placed, top = top
        depth -= 1
        if node > 0:
            unlift((node - 1) // 2)
            entry = nxt[node]
        else:
            entry, resume = at, -node  # the next unknown op after this one, same point
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


def resolve_register_unknowns(ops, init_version=0):
    """Narrows the unknown writes of one register before the search, from what the other
    operations observed. Every update that takes effect gets the next version, values are
    unique, and every ok operation reports a (version, value): so
    - an unknown write whose value was observed took effect, at the version it was seen
      with: it gets that version as its result, which pins its place;
    - an unknown write whose value nobody observed either never took effect, or took
      effect at a version nobody observed either (it was overwritten unseen). If no
      observed version is missing below the one reported right after it could have
      happened, there is no version it could have had except after everything observed,
      where it changes nothing the search checks; it is left out.
    Without this, each unknown write multiplies the places the search tries (it may be
    linearized anywhere after its invocation), and a long run with a few dozen of them is
    undecidable in any budget. Returns the ops to search (copies where results are set)."""
    observed = {init_version: None}
    seen_after = {}  # version -> latest completion of an op that observed it
    for o in ops:
        if o.status != OK:
            continue
        if o.f == "read":
            version, value = o.result[1], o.result[0]
        elif o.result is not None:
            version, value = o.result, (o.arg if o.f == "write" else o.arg[1])
        else:
            continue
        observed[version] = value
        seen_after[version] = max(seen_after.get(version, -INF), o.ret)
    by_value = {v: k for k, v in observed.items() if v is not None}
    top = max(observed)
    gaps = [g for g in range(init_version + 1, top) if g not in observed]
    out = []
    for o in ops:
        if o.status != UNKNOWN or o.f not in ("write", "cas"):
            out.append(o)
            continue
        value = o.arg if o.f == "write" else o.arg[1]
        if value in by_value:
            pinned = Op(o.process, o.seq, o.key, o.f, o.arg, o.call, status=UNKNOWN,
                        result=by_value[value], ret=INF, error=o.error)
            out.append(pinned)
        elif any(o.call < seen_after.get(g + 1, -INF) for g in gaps):
            out.append(o)
    return out


def check_history(ops, model="register", init=None, steps_max=SEARCH_STEPS_MAX):
    """Checks every key of a history; init: {key: initial state}. Returns [Result]."""
    step = MODELS[model]
    by_key = {}
    for op in ops:
        if relevant(op):
            by_key.setdefault(op.key, []).append(op)
    init = init or {}
    results = []
    for k in sorted(by_key):
        key_ops = by_key[k]
        if model == "register" and init.get(k) is not None:
            key_ops = resolve_register_unknowns(key_ops, init[k][1])
        results.append(check(key_ops, step, init.get(k), key=k, steps_max=steps_max,
                             behind=BEHIND[model]))
    return results


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


def sequential_anomalies(ops, final):
    """Direct checks of sequential creates (ops with f "create": arg a unique id, ok result
    the node's name) against `final`, {name: id} read after the run (None if it could not
    be read). Returns [text]:
    - two acknowledged creates given one name;
    - a create that completed before another was invoked but got a higher number (the
      counter is the parent's cversion, which only grows);
    - an acknowledged create missing at the end, or there with another id (a lost write);
    - a node whose id was never sent, or whose create was refused (failed), or an id
      present under two names."""
    out = []
    creates = [o for o in ops if o.f == "create"]
    acked = sorted((o for o in creates if o.status == OK), key=lambda o: o.call)
    by_name = {}
    for o in acked:
        if o.result in by_name:
            out.append("sequential: %s given to two creates: %s and %s"
                       % (o.result, by_name[o.result].arg, o.arg))
        by_name[o.result] = o
    by_ret = sorted(acked, key=lambda o: o.ret)
    # A create B invoked after A completed must have a higher number: compare each op with
    # the highest-numbered op that completed before it was invoked (one sweep).
    k, best = 0, None
    for o in acked:
        while k < len(by_ret) and by_ret[k].ret < o.call:
            if best is None or by_ret[k].result > best.result:
                best = by_ret[k]
            k += 1
        if best is not None and o.result < best.result:
            out.append("sequential: %s (%s) was created after %s (%s) completed"
                       % (o.result, o.arg, best.result, best.arg))
    if final is None:
        return out
    ids = {}
    for name, uid in final.items():
        ids.setdefault(uid, []).append(name)
    sent = {o.arg: o for o in creates}
    for o in acked:
        if final.get(o.result) != o.arg:
            out.append("sequential: acknowledged %s (%s) is %s at the end (lost write)"
                       % (o.result, o.arg, "missing" if o.result not in final else
                          "holding %s" % final[o.result]))
    for uid, names in sorted(ids.items()):
        if uid not in sent:
            out.append("sequential: %s holds %s, which no client sent" % (names[0], uid))
        elif sent[uid].status == FAIL:
            out.append("sequential: %s holds %s, whose create was refused" % (names[0], uid))
        if len(names) > 1:
            out.append("sequential: %s is there twice: %s" % (uid, " ".join(sorted(names))))
    return out


def ephemeral_anomalies(records, gone=None, limit=20):
    """Direct checks of the sessions-and-ephemerals workload (ephworker.py) on its
    records; `gone` is the final wait's {"seconds", "left"} (None if not run). Returns
    [text], at most `limit` per kind of finding."""
    import bisect
    eph = [r for r in records if r.get("type") == "eph"]
    creates = {r["node"]: r for r in eph if r["event"] == "create"}
    lists = sorted((r for r in eph if r["event"] == "list"), key=lambda r: r["call"])
    list_calls = [r["call"] for r in lists]
    out = {"vanished": [], "missing": [], "phantom": [], "gone": [], "expired": []}
    last_alive = {}
    for r in eph:
        if r["event"] != "alive":
            continue
        if not r["seen"]:
            out["vanished"].append("ephemeral: %s missing at %.3f although its session %#x "
                                   "answered" % (r["node"], r["call"], r["session"]))
        elif r["owner"] != r["session"]:
            out["vanished"].append("ephemeral: %s owned by %#x, created by session %#x"
                                   % (r["node"], r["owner"], r["session"]))
        else:
            last_alive[r["node"]] = max(last_alive.get(r["node"], -INF), r["call"])
    for node, c in creates.items():
        if not c["ok"] or node not in last_alive:
            continue
        # Lists invoked after the create was acknowledged and answered before a later
        # exists() of the owner was invoked: the session lived across them.
        k = bisect.bisect_right(list_calls, c["ret"])
        while k < len(lists) and lists[k]["call"] < last_alive[node]:
            lst = lists[k]
            if lst["ret"] < last_alive[node] and node not in lst["nodes"]:
                out["missing"].append("ephemeral: %s absent from a list [%.3f, %.3f] while "
                                      "its session lived" % (node, lst["call"], lst["ret"]))
                break
            k += 1
    for lst in lists:
        for node in lst["nodes"]:
            if node not in creates:
                out["phantom"].append("ephemeral: %s listed but never created" % node)
    for r in eph:
        if r["event"] != "expired" or r["gone"] is None:
            continue
        if r["back"] == "accepted":
            out["expired"].append("ephemeral: abandoned session %#x let back in after its %s "
                                  "was gone" % (r["session"], r["node"]))
        k = bisect.bisect_right(list_calls, r["gone"])
        for lst in lists[k:]:
            if r["node"] in lst["nodes"]:
                out["expired"].append("ephemeral: %s listed at %.3f, after its abandoned "
                                      "session's expiry was seen at %.3f"
                                      % (r["node"], lst["call"], r["gone"]))
                break
    if gone is not None and gone.get("left") != []:
        out["gone"].append("ephemeral: %s still there %.0f s after every owner closed its "
                           "sessions" % (gone.get("left"), gone.get("seconds", 0.0)))
    found = []
    for kind in ("vanished", "missing", "phantom", "gone", "expired"):
        found += sorted(set(out[kind]))[:limit]
    return found


def _unchanged(r, seen, what):
    """A notification that brought no change: the read after it saw no more than the fired
    watches had when they were set."""
    armed = r.get("armed")
    if r["why"] != "event" or armed is None or seen > armed:
        return []
    return ["watch: p%s read %s %d after a notification from a watch set at %d"
            % (r["p"], what, seen, armed)]


def watch_anomalies(records, limit=20):
    """Direct checks of the watchers (watchworker.py). Registers: per watcher, the versions
    read only grow, and a read after a notification is above the version the fired watches
    were set at (else the notification brought no change); every version has one value
    (across watchers too); the final record's last notified version is the register's last
    version. The ephemerals' directory: its cversion only grows, and after a notification
    exceeds the cversion the fired watches were set at. Deletions: a node reported deleted
    once per watcher, gone when reported, and in no listing invoked afterwards. Returns
    [text]."""
    out = []
    last = {}
    values = {}
    deleted = {}
    watch = sorted((r for r in records if r.get("type") == "watch"), key=lambda r: r["t"])
    for r in watch:
        kind = r.get("kind", "data")
        who = (r["p"], r["key"])
        if kind == "deleted":
            if (r["p"], r["key"]) in deleted:
                out.append("watch: p%s was told twice that %s was deleted" % who)
            deleted[(r["p"], r["key"])] = r["t"]
            if r["exists"]:
                out.append("watch: p%s was told %s was deleted, but it exists" % who)
            continue
        if kind == "children":
            c = r["cversion"]
            prev = last.get(("dir",) + who)
            if prev is not None and c < prev:
                out.append("watch: p%s read %s's cversion %d after a %s, the read before had "
                           "%d" % (who[0], who[1], c, "notification" if r["why"] == "event"
                                   else "re-arm", prev))
            out.extend(_unchanged(r, c, "%s's cversion" % who[1]))
            last[("dir",) + who] = max(prev if prev is not None else -1, c)
            continue
        if r["why"] == "final":
            if r["version"] is None:
                out.append("watch: p%s could not read %s at the end" % who)
            elif r["notified"] != r["version"]:
                out.append("watch: p%s missed the last change of %s: notified up to version "
                           "%s, the register is at %s" % (who[0], who[1], r["notified"],
                                                         r["version"]))
            continue
        if who in last and r["version"] < last[who]:
            out.append("watch: p%s read %s version %d after %s, the read before had version %d"
                       % (who[0], who[1], r["version"], "a notification" if r["why"] == "event"
                          else "a re-arm", last[who]))
        out.extend(_unchanged(r, r["version"], "%s version" % who[1]))
        last[who] = max(last.get(who, -1), r["version"])
        seen = values.setdefault((r["key"], r["version"]), r["value"])
        if seen != r["value"]:
            out.append("watch: %s version %d read as %s and as %s"
                       % (r["key"], r["version"], seen, r["value"]))
    for r in watch:
        if r.get("kind") != "children":
            continue
        for name in r["children"]:
            t_del = deleted.get((r["p"], name))
            if t_del is not None and r["t0"] > t_del:
                out.append("watch: p%s listed %s again after it was told it was deleted"
                           % (r["p"], name))
    return out[:limit]


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
    """Checks a kept history the way run_faults.py does: the fence with the fenced model,
    the sequential creates directly (without the final read), every other key as a
    register."""
    if len(argv) != 2:
        print("usage: linearize.py HISTORY.jsonl", file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        lines = f.readlines()
    init = {}
    for line in lines:
        rec = json.loads(line) if line.strip() else {}
        if rec.get("type") == "init":
            init[rec["key"]] = _tup(rec["state"])
    ops = load(lines)
    fence = [o for o in ops if o.key == "fence"]
    creates = [o for o in ops if o.f == "create"]
    registers = [o for o in ops if o.key != "fence" and o.f != "create"]
    bad = 0
    for r in check_history(registers, "register", init) + \
            check_history(fence, "fenced", init):
        if r.ok:
            print("key %s: linearizable (%d ops, %d steps)" % (r.key, len(r.ops), r.steps))
        else:
            bad += 1
            print(report(r))
    for line in sequential_anomalies(creates, None):
        bad += 1
        print(line)
    print("anomalies: %d" % bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
