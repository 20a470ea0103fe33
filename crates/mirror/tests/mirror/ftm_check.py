"""Reads a mirror's data/ftm.ndjson back with FollowTheMoney (the `followthemoney` package).

Usage: python3 ftm_check.py PATH/TO/ftm.ndjson

Every line must be an entity FollowTheMoney accepts as it is (a known schema, known
properties, values its types keep unchanged), every id unique, and every entity a property
names must be in the file. Exits 77 (skipped) when followthemoney cannot be imported, so that
nothing depends on it being installed.
"""

import json
import sys

try:
    from followthemoney import model
except ImportError as error:
    print(f"followthemoney is not installed ({error})")
    sys.exit(77)


def main(path):
    proxies = {}
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            data = json.loads(line)
            proxy = model.get_proxy(data, cleaned=False)
            for prop, values in data["properties"].items():
                kept = proxy.get(prop)
                if sorted(kept) != sorted(values):
                    raise SystemExit(f"line {number}: {prop} {values!r} read as {kept!r}")
            if proxy.id in proxies:
                raise SystemExit(f"line {number}: id {proxy.id} twice")
            proxies[proxy.id] = proxy
    for proxy in proxies.values():
        for prop, value in proxy.itervalues():
            if prop.type.name == "entity" and value not in proxies:
                raise SystemExit(f"{proxy.id}: {prop.name} names {value}, not in the file")
            if prop.type.name == "entity" and not proxies[value].schema.is_a(prop.range):
                raise SystemExit(f"{proxy.id}: {prop.name} names a {proxies[value].schema.name}")
    schemas = sorted({proxy.schema.name for proxy in proxies.values()})
    print(f"followthemoney read {len(proxies)} entities ({', '.join(schemas)})")


if __name__ == "__main__":
    main(sys.argv[1])
