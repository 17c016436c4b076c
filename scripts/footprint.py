#!/usr/bin/env python3
"""Start-to-ready time and idle memory of `apiserver serve`, per start (used by bench-footprint.sh).

usage: footprint.py PORT STARTS IDLE_SECONDS NAME=BINARY [NAME=BINARY]

Each start: spawn the binary, poll GET /readyz every millisecond until it answers 200 (readiness:
the database answers and every migration file is applied, with matching checksums), wait
IDLE_SECONDS, then read the process's memory: VmRSS, RssAnon, RssFile, VmHWM (peak), the resident
kilobytes of each mapped file from /proc/PID/smaps, and, for the binary itself, the resident kilobytes
of each ELF section (/proc/PID/pagemap: needs root, else omitted). With two binaries the starts
alternate (A B, B A, ...), so both see the same machine. Prints one JSON document.

COLD=1 in the environment drops the binary's pages from the page cache before each start
(fsync, then POSIX_FADV_DONTNEED on that one file), as after a deploy or a reboot: how a file
came into the cache (written by the linker, copied, read back) decides the size of its page-cache
folios, and the kernel maps whole folios, so without it two binaries can differ by how they were
written rather than by what they run.
"""
import collections, json, os, re, socket, statistics, struct, subprocess, sys, time


def status(pid):
    fields = {}
    for line in open(f"/proc/{pid}/status"):
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def mappings(pid):
    """Resident kB per mapped file (anonymous memory under "[anon]")."""
    resident, name = collections.Counter(), None
    for line in open(f"/proc/{pid}/smaps"):
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            parts = line.split()
            name = os.path.basename(parts[5]) if len(parts) > 5 and parts[5].startswith("/") else "[anon]"
        elif line.startswith("Rss:"):
            resident[name] += int(line.split()[1])
    return resident


def sections(binary):
    """(name, file offset, size) of the binary's allocated sections, from readelf."""
    out = subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True).stdout
    result = []
    for line in out.splitlines():
        match = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+\S+\s+(\S*)", line)
        if match and "A" in match.group(5) and match.group(1) != ".bss" and int(match.group(4), 16) > 0:
            result.append((match.group(1), int(match.group(3), 16), int(match.group(4), 16)))
    return result


def section_residency(pid, binary):
    """Resident kB per ELF section of the binary (pages present in this process's page tables)."""
    real = os.path.realpath(binary)
    spans = []  # (start, end, file offset) of each mapping of the binary
    for line in open(f"/proc/{pid}/maps"):
        parts = line.split()
        if len(parts) > 5 and os.path.realpath(parts[5]) == real:
            start, end = (int(x, 16) for x in parts[0].split("-"))
            spans.append((start, end, int(parts[2], 16)))
    try:
        pagemap = open(f"/proc/{pid}/pagemap", "rb")
    except OSError:
        return {}
    page = os.sysconf("SC_PAGE_SIZE")
    present_offsets = set()
    with pagemap:
        for start, end, offset in spans:
            pagemap.seek(start // page * 8)
            data = pagemap.read((end - start) // page * 8)
            for index in range(len(data) // 8):
                (entry,) = struct.unpack_from("<Q", data, index * 8)
                if entry >> 63:
                    present_offsets.add(offset // page + index)
    resident = collections.Counter()
    for name, offset, size in sections(binary):
        first, last = offset // page, (offset + size - 1) // page
        resident[name] = sum(page // 1024 for p in range(first, last + 1) if p in present_offsets)
    return resident


def drop_from_page_cache(binary):
    descriptor = os.open(binary, os.O_RDONLY)
    try:
        os.fsync(descriptor)
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(descriptor)


def start_once(binary, port, idle_seconds):
    if os.environ.get("COLD") == "1":
        drop_from_page_cache(binary)
    begin = time.perf_counter()
    process = subprocess.Popen([binary, "serve"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{binary} exited with status {process.returncode} before it was ready")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if s.recv(64).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                pass
            time.sleep(0.001)
        ready_ms = (time.perf_counter() - begin) * 1000
        time.sleep(idle_seconds)
        sample = status(process.pid)
        sample["ready_ms"] = ready_ms
        sample["mappings"] = mappings(process.pid)
        sample["sections"] = section_residency(process.pid, binary)
        return sample
    finally:
        process.terminate()
        process.wait()


def main():
    port, starts, idle_seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    binaries = [argument.split("=", 1) for argument in sys.argv[4:]]
    samples = {name: [] for name, _ in binaries}
    for round_number in range(starts):
        order = binaries if round_number % 2 == 0 else list(reversed(binaries))
        for name, binary in order:
            samples[name].append(start_once(binary, port, idle_seconds))
    report = {}
    for name, binary in binaries:
        runs = samples[name]
        def summary(key):
            values = [run[key] for run in runs]
            return {"median": statistics.median(values), "min": min(values), "max": max(values)}
        def median_counter(key):
            names = set().union(*(run[key] for run in runs))
            return {item: statistics.median(run[key].get(item, 0) for run in runs) for item in names}
        report[name] = {
            "binary": binary, "bytes": os.path.getsize(binary), "starts": len(runs),
            "ready_ms": summary("ready_ms"), "rss_kb": summary("VmRSS"), "anon_kb": summary("RssAnon"),
            "file_kb": summary("RssFile"), "peak_kb": summary("VmHWM"),
            "mappings_kb": median_counter("mappings"), "sections_kb": median_counter("sections"),
        }
    json.dump(report, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
