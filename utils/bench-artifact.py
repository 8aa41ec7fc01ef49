#!/usr/bin/env python3
"""Times an artifact's entry point directly (ctypes, no runtime): a prefill
of P tokens from an empty cache, then 16 single-token decode steps; five
runs, medians reported. Weights are read into memory first, so the figures
are compute, not disk.

    utils/bench-artifact.py model.so CHECKPOINT_DIR [P]
"""
import ctypes, json, struct, sys, time, statistics
so, wdir = sys.argv[1], sys.argv[2]
P = int(sys.argv[3]) if len(sys.argv) > 3 else 64
lib = ctypes.CDLL(so); lib.jikji_manifest.restype = ctypes.c_char_p
m = json.loads(lib.jikji_manifest())
data = open(wdir + '/model.safetensors','rb').read(); n = struct.unpack('<Q', data[:8])[0]; h = json.loads(data[8:8+n]); base = 8+n
bufs=[]; ptrs=[]
for p in m['parameters']:
    names = [p['name'].replace('*', str(e)) for e in range(p['experts'])] if p.get('experts') else [p['name']]
    blob = b''.join(data[base+h[x]['data_offsets'][0]:base+h[x]['data_offsets'][1]] for x in names)
    b = ctypes.create_string_buffer(blob, len(blob)); bufs.append(b); ptrs.append(ctypes.cast(b, ctypes.c_void_p))
params = (ctypes.c_void_p*len(ptrs))(*ptrs)
V = m['vocab_size']; cap = P + 64; kc = m['kv_cache']
def run():
    caches=[]
    for t in kc['tensors']:
        c = kc['layers']*cap
        for d in t['per_token_shape']: c *= d
        caches.append((ctypes.c_float*c)())
    cp = (ctypes.c_void_p*2)(*[ctypes.cast(c, ctypes.c_void_p) for c in caches])
    toks = (ctypes.c_int64*P)(*[(i*7+3) % V for i in range(P)]); lg = (ctypes.c_float*(P*V))()
    t0 = time.perf_counter(); lib.jikji_forward(params, toks, P, 0, cp, cap, lg); t1 = time.perf_counter()
    one = (ctypes.c_int64*1)(5); l1 = (ctypes.c_float*V)()
    ds=[]
    for i in range(16):
        a = time.perf_counter(); lib.jikji_forward(params, one, 1, P+i, cp, cap, l1); ds.append(time.perf_counter()-a)
    return t1-t0, statistics.median(ds)
res=[run() for _ in range(5)]
pre = statistics.median(r[0] for r in res); dec = statistics.median(r[1] for r in res)
print('%s: prefill %d tokens %.1f ms (%.0f tok/s), decode %.2f ms/token (%.0f tok/s)' % (so, P, pre*1e3, P/pre, dec*1e3, 1/dec))
