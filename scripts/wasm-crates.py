#!/usr/bin/env python3
"""What the page's wasm is made of, by crate: reads `twiggy top -f csv` of
the wasm before wasm-bindgen (it still has function names) and sums each
item's own size under the first crate its name mentions.

    cargo install twiggy
    cargo leptos build --release
    twiggy top -n 1000000 -f csv target/front/wasm32-unknown-unknown/wasm-release/frontend.wasm \\
        | scripts/wasm-crates.py
"""
import collections
import csv
import re
import sys

sizes = collections.Counter()
for row in csv.DictReader(sys.stdin):
    name, size = row["Name"], int(row["ShallowSize"])
    # Names and wasm-bindgen's descriptions are not in the page's wasm.
    if "function names" in name or "__wasm_bindgen_unstable" in name or "__wbindgen_describe" in name:
        continue
    crates = re.findall(r"([a-z_][a-z0-9_]*)(?:\[[0-9a-f]+\])?::", name)
    sizes[crates[0] if crates else name.split("[")[0]] += size
total = sum(sizes.values())
print(f"| crate | bytes | share |\n|---|---:|---:|")
for crate, size in sizes.most_common(15):
    print(f"| {crate} | {size:,} | {size * 100 / total:.1f} % |")
print(f"| all | {total:,} | |")
