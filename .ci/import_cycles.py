#!/usr/bin/env python3
"""Lists circles of imports between the files of src/ (exit 1 when there is one).

An edge A -> B exists when non-test code of file A names a path (`use` or inline) that
resolves into file B (`crate::...`, `super::...`, `self::...`). Edges between a module and
its own ancestors (`mod.rs` re-exports, `super::Error`) are the normal shape of a module tree
and are ignored. Test code (from a `#[cfg(test)]` line to the end of the file, and files named
`*tests.rs`) is ignored too.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
GROUP = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^}]*)\}")


def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return tuple(rel)


def files():
    out = {}
    for d, _, names in os.walk(ROOT):
        for n in names:
            if n.endswith(".rs") and n != "build.rs":
                p = os.path.join(d, n)
                out[module_of(p)] = p
    return out


def strip(text):
    text = re.sub(r"//[^\n]*", "", text)
    cut = text.find("#[cfg(test)]")
    return text if cut < 0 else text[:cut]


def resolve(mods, here, is_dir_module, head, tail):
    if head == "crate":
        base = ()
    elif head == "self":
        base = here
    else:  # super: the parent of this module
        base = here[:-1]
    parts = list(base) + [p for p in tail if p]
    while parts and parts[0] == "super":
        parts = parts[1:]
    best = None
    for i in range(len(parts), -1, -1):
        if tuple(parts[:i]) in mods:
            best = tuple(parts[:i])
            break
    return best


def main():
    mods = files()
    edges = {m: set() for m in mods}
    for m, p in mods.items():
        if p.endswith("tests.rs"):
            continue
        text = strip(open(p, encoding="utf-8").read())
        found = []
        for g in GROUP.finditer(text):
            prefix = [x for x in g.group(2).split("::") if x]
            for item in g.group(3).split(","):
                item = item.strip().split(" as ")[0].strip()
                if item and item != "self":
                    found.append((g.group(1), prefix + [x for x in item.split("::") if x]))
                elif item == "self":
                    found.append((g.group(1), prefix))
        for u in PATH.finditer(text):
            found.append((u.group(1), [x for x in u.group(2).split("::") if x]))
        for head, tail in found:
            t = resolve(mods, m, None, head, tail)
            if t is None or t == m:
                continue
            if t == m[: len(t)] or m == t[: len(m)]:
                continue  # ancestor or descendant
            edges[m].add(t)
    # Tarjan's strongly connected components.
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(mods):
        if v not in index:
            visit(v)
    name = lambda m: "::".join(m) or "crate"
    if "--edges" in sys.argv:
        for v in sorted(edges):
            for w in sorted(edges[v]):
                print(f"{name(v)} -> {name(w)}")
    for c in comps:
        inner = [f"{name(a)} -> {name(b)}" for a in c for b in sorted(edges[a]) if b in c]
        print("import circle: " + ", ".join(name(x) for x in c) + "  (" + "; ".join(inner) + ")")
    print(f"{len(mods)} files, {sum(len(e) for e in edges.values())} import edges, {len(comps)} circles")
    return 1 if comps else 0


if __name__ == "__main__":
    sys.exit(main())
