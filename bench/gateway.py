"""Scenario 8 of `make bench`: protected requests through Debian's nginx running
deploy/nginx/gateway.conf, against nginx answering a static 204 on the same machine.

One private nginx (worker_processes auto, as Debian's nginx.conf has it) serves four sites on
127.0.0.1, each measured by wrk with the bench's connections and the bench key in X-Api-Key:
- static: nginx answering 204 itself, the reference every ratio is to;
- proxy: nginx passing the request to the service, no check (what a gateway adds its check to);
- cached: gateway.conf as shipped, asking the portal through its verification cache;
- uncached: the same server with `proxy_cache off`: every request asks the portal.
The service is a site of the same nginx answering 204, and the portal is run.py's gunicorn.
Every site writes the shipped access log, as a deployed gateway does; the portal calls of a run
are the log's verify=MISS lines.
"""

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GATEWAY_CONF = ROOT / "deploy" / "nginx" / "gateway.conf"
GATEWAY_JS = ROOT / "deploy" / "nginx" / "gateway.js"
NJS_MODULE = "/usr/lib/nginx/modules/ngx_http_js_module.so"
PREFIX = "8 gateway, "
# The sites measured, in each round's order, each with its server's name in `ports`.
SITES = {"static 204": "static", "proxy, no check": "proxy", "cached": "cached", "uncached": "uncached"}

MAIN = """\
load_module {njs};
worker_processes auto;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/gateway.conf;

    server {{
        listen 127.0.0.1:{static};
        access_log {dir}/static.access.log gateway;
        location / {{ return 204; }}
    }}
    server {{
        listen 127.0.0.1:{service};
        access_log off;
        location / {{ return 204; }}
    }}
    server {{
        listen 127.0.0.1:{proxy};
        access_log {dir}/proxy.access.log gateway;
        location / {{
            proxy_pass http://service;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def missing():
    """Why the scenario cannot run here, or None."""
    if not nginx_binary():
        return "no nginx: apt-get install nginx libnginx-mod-http-js"
    if not os.path.exists(NJS_MODULE):
        return "no njs module for nginx: apt-get install libnginx-mod-http-js"
    return None


def nginx_binary():
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


def site_config(portal_port, ports, workdir):
    """gateway.conf as shipped (addresses, log, cache and gateway.js paths replaced), and a copy of
    its server on another port with the cache off."""
    text = GATEWAY_CONF.read_text()
    replacements = {
        # Both API servers of the shipped upstream are the bench's API pool.
        "server 127.0.0.1:8101 ": f"server 127.0.0.1:{portal_port} ",
        "server 127.0.0.1:8102 ": f"server 127.0.0.1:{portal_port} ",
        "server 127.0.0.1:9000;": f"server 127.0.0.1:{ports['service']};",
        "listen 80;": f"listen 127.0.0.1:{ports['cached']};",
        "/var/log/nginx/": f"{workdir}/",
        "/run/nginx-gateway-verify ": f"{workdir}/verify-cache ",
        "/etc/nginx/gateway.js;": f"{GATEWAY_JS};",
    }
    for old, new in replacements.items():
        if text.count(old) != 1:
            raise SystemExit(f"{old!r} is expected once in {GATEWAY_CONF}")
        text = text.replace(old, new)
    server = text[text.index("\nserver {") :]
    listen = f"listen 127.0.0.1:{ports['cached']};"
    uncached = server.replace(listen, f"listen 127.0.0.1:{ports['uncached']};")
    uncached = uncached.replace("proxy_cache gateway_verify;", "proxy_cache off;")
    uncached = uncached.replace("gateway.access.log", "uncached.access.log")
    return text + uncached


def start(portal_port, first_port, wait_for_port):
    """Start the private nginx; returns (process, {site: port}, its directory)."""
    # Not in run.py's private directory: nginx's workers run as an unprivileged user, and keep
    # their cache here.
    directory = Path(tempfile.mkdtemp(prefix="portal-bench-nginx-"))
    os.chmod(directory, 0o755)  # noqa: S103
    names = [*SITES.values(), "service"]
    ports = {name: first_port + n for n, name in enumerate(names)}
    (directory / "gateway.conf").write_text(site_config(portal_port, ports, directory))
    conf = directory / "nginx.conf"
    conf.write_text(MAIN.format(njs=NJS_MODULE, dir=directory, **ports))
    command = [nginx_binary(), "-p", str(directory), "-e", f"{directory}/error.log", "-c", str(conf)]
    subprocess.run([*command, "-t", "-q"], check=True, timeout=30)
    process = subprocess.Popen([*command, "-g", "daemon off;"], start_new_session=True)
    for port in ports.values():
        wait_for_port(port)
    return process, ports, directory


def stop(process, directory):
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)
    shutil.rmtree(directory)  # its access logs hold every request of the bench


def portal_calls(log, offset):
    """The verify=MISS lines of `log` after byte `offset`."""
    with open(log, "rb") as lines:
        lines.seek(offset)
        return lines.read().count(b" verify=MISS")


def nginx_processes(master):
    """nginx's master, workers and cache manager: not the cache loader, which exits a minute after
    the start."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    lasting = [pid for pid in children if b"cache loader" not in Path(f"/proc/{pid}/cmdline").read_bytes()]
    return [master, *map(int, lasting)]


def cpu_seconds(pids):
    """The CPU time (user and system) the processes `pids` have used so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime and stime, fields 14 and 15 of proc(5)
    return ticks / os.sysconf("SC_CLK_TCK")


def measure(*, api_key, portal_port, first_port, wrk, seconds, runs, wait_for_port, portal_pids):
    """Each site `runs` times after a warm-up, in rounds: static, proxy, cached, uncached. Each run
    keeps the static run of its round as `baseline_rps` (run.py's pairing), the CPU time nginx and
    the portal (`portal_pids()`) spent per request, in microseconds, and the portal calls per
    second. CPU per request moves much less than req/s when other work shares the machine."""
    process, ports, directory = start(portal_port, first_port, wait_for_port)
    nginx_pids = nginx_processes(process.pid)
    options = ["-H", f"X-Api-Key: {api_key}"]
    log = directory / "gateway.access.log"
    results = {}
    try:
        for name in SITES.values():
            wrk(ports[name], options, seconds=2)
        for _ in range(runs):
            baseline = None
            for site, name in SITES.items():
                offset, portal = log.stat().st_size, portal_pids()
                nginx_before, portal_before = cpu_seconds(nginx_pids), cpu_seconds(portal)
                result = wrk(ports[name], options, seconds=seconds)
                requests = result["rps"] * seconds
                baseline = baseline or result["rps"]
                run = {
                    **result,
                    "baseline_rps": baseline,
                    "nginx_cpu_us": round((cpu_seconds(nginx_pids) - nginx_before) / requests * 1e6, 1),
                    "portal_cpu_us": round((cpu_seconds(portal) - portal_before) / requests * 1e6, 1),
                }
                if name == "cached":
                    run["portal_calls_per_s"] = round(portal_calls(log, offset) / seconds, 1)
                elif name == "uncached":
                    run["portal_calls_per_s"] = result["rps"]
                results.setdefault(PREFIX + site, []).append(run)
    finally:
        stop(process, directory)
    return results
