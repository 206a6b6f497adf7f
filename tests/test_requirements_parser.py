"""The pip requirements-file parser: each small function, then whole file trees.

Expected behaviour is pip's (pip/_internal/req/req_file.py, req/constructors.py); where pip
would abort, guard reports an ``invalid`` finding at the file and line and reads on.
"""

from __future__ import annotations

import pytest

from guardpolicy.model import Finding, IndexRef, Location, PackageRef
from guardpolicy.sources.interface import SourceError
from guardpolicy.sources.requirements import (
    DEFAULT_INDEX,
    LineError,
    ReadOptions,
    RequirementsSource,
    break_args_options,
    decode_requirements,
    egg_fragment,
    expand_env_vars,
    is_url,
    join_lines,
    logical_lines,
    parse_editable,
    parse_hash,
    parse_options,
    parse_requirement,
    read_requirements,
    split_extras_suffix,
    strip_comment,
    wheel_name_version,
)

H1 = "a" * 64
H2 = "b" * 64


def numbered(text):
    return list(enumerate(text.splitlines(), 1))


# ---------------------------------------------------------------- lines


def test_join_lines_keeps_first_line_number():
    assert list(join_lines(numbered("a \\\nb \\\nc\nd"))) == [(1, "a b c"), (4, "d")]


def test_join_lines_comment_ending_in_backslash_does_not_continue():
    out = list(join_lines(numbered("# note \\\nrequests")))
    assert out[1] == (2, "requests")


def test_join_lines_continuation_into_comment_ends_the_requirement():
    # pip's behaviour: the comment line is appended (and stripped later), ending the requirement
    out = [(n, strip_comment(t)) for n, t in join_lines(numbered("requests==2.25.0 \\\n# comment\nsix"))]
    assert out == [(1, "requests==2.25.0"), (3, "six")]


def test_join_lines_trailing_backslash_at_end_of_file():
    assert list(join_lines(numbered("flask \\"))) == [(1, "flask ")]


@pytest.mark.parametrize("line,expected", [
    ("# full comment", ""),
    ("requests  # trailing", "requests"),
    ("requests\t# tab before hash", "requests"),
    ("git+https://h/r.git#egg=pkg", "git+https://h/r.git#egg=pkg"),
    ("https://h/p-1.0.tar.gz#sha256=" + H1, "https://h/p-1.0.tar.gz#sha256=" + H1),
    ("pkg==1.0#not-a-comment", "pkg==1.0#not-a-comment"),
    ("   ", ""),
])
def test_strip_comment(line, expected):
    assert strip_comment(line) == expected


def test_env_vars_expand_like_pip():
    env = {"TOKEN": "s3cret", "EMPTY": ""}
    assert expand_env_vars("https://u:${TOKEN}@h/simple", env) == "https://u:s3cret@h/simple"
    assert expand_env_vars("${MISSING}/x", env) == "${MISSING}/x"          # unset: left alone
    assert expand_env_vars("${EMPTY}/x", env) == "${EMPTY}/x"              # empty: left alone
    assert expand_env_vars("$TOKEN ${lower}", env) == "$TOKEN ${lower}"    # only ${UPPER_CASE}


def test_logical_lines_skip_blanks_and_comments():
    text = "\n# c\nrequests  # x\n\n  six\n"
    assert list(logical_lines(text, {})) == [(3, "requests"), (5, "six")]


@pytest.mark.parametrize("line,expected", [
    ("requests==2.0", ("requests==2.0", "")),
    ("requests==2.0 --hash=sha256:x", ("requests==2.0", "--hash=sha256:x")),
    ("-r other.txt", ("", "-r other.txt")),
    ('pkg; python_version < "3.8" --hash=sha256:x', ('pkg; python_version < "3.8"', "--hash=sha256:x")),
    ("name-with-dash==1", ("name-with-dash==1", "")),
])
def test_break_args_options(line, expected):
    assert break_args_options(line) == expected


def test_decode_bom_cookie_and_bad_bytes():
    assert decode_requirements(b"\xef\xbb\xbfrequests\n") == ("requests\n", None)
    assert decode_requirements("requests\n".encode("utf-16"))[0] == "requests\n"
    text, problem = decode_requirements(b"# -*- coding: latin-1 -*-\ncaf\xe9\n")
    assert text.endswith("caf\xe9\n") and problem is None
    text, problem = decode_requirements(b"ok\nbad\xff\n")
    assert problem and "line 2" in problem


# ---------------------------------------------------------------- options


def test_parse_options_pip_table_and_abbreviations():
    opts = parse_options("--extra-index https://x/simple --pre -f ./wheels -rreqs.txt")
    assert opts.get("extra_index_urls") == ["https://x/simple"]
    assert opts.get("pre") is True and opts.get("find_links") == ["./wheels"]
    assert opts.get("requirements") == ["reqs.txt"]
    assert parse_options("--index-url=https://a/simple").get("index_url") == "https://a/simple"
    assert parse_options("-i https://a/simple").get("index_url") == "https://a/simple"
    assert parse_options("--hash=sha256:1 --hash sha256:2").get("hashes") == ["sha256:1", "sha256:2"]


def test_parse_options_do_not_leak_between_lines():
    parse_options("--hash=sha256:1")
    assert parse_options("--hash=sha256:2").get("hashes") == ["sha256:2"]


@pytest.mark.parametrize("text,needle", [
    ("--unknown-options", "no such option"),
    ("--no-use-wheel", "no such option"),
    ("--install-option=--prefix", "no such option"),
    ("-r", "requires 1 argument"),
    ('--hash="sha256:abc', "cannot split"),
])
def test_parse_options_errors(text, needle):
    with pytest.raises(LineError, match=needle):
        parse_options(text)


def test_parse_options_leftover_words():
    assert parse_options("--index-url https://foo.com some trailing junk").leftover == ("some", "trailing", "junk")


@pytest.mark.parametrize("value,expected", [
    ("sha256:" + H1.upper(), "sha256:" + H1),
    ("SHA512:abcd", "sha512:abcd"),
])
def test_parse_hash_ok(value, expected):
    assert parse_hash(value) == expected


@pytest.mark.parametrize("value", ["md5:abcd", "sha1:abcd", "sha256", "sha256:", "sha256:xyz"])
def test_parse_hash_rejects(value):
    with pytest.raises(LineError):
        parse_hash(value)


# ---------------------------------------------------------------- requirements


@pytest.mark.parametrize("text,name,spec,version,extras,marker", [
    ("requests", "requests", "", None, (), None),
    ("requests==2.32.3", "requests", "==2.32.3", "2.32.3", (), None),
    ("requests===2.32.3", "requests", "===2.32.3", "2.32.3", (), None),
    ("requests==2.*", "requests", "==2.*", None, (), None),
    ("requests >=2, <3", "requests", "<3,>=2", None, (), None),
    ("Requests[Socks,security]==2.0", "Requests", "==2.0", "2.0", ("security", "socks"), None),
    ('pylint == 1.9.5 ; python_version == "2.7"', "pylint", "==1.9.5", "1.9.5", (), 'python_version == "2.7"'),
    ('jaraco.windows >= 3.9.1;platform_system=="Windows"', "jaraco.windows", ">=3.9.1", None, (), 'platform_system == "Windows"'),
])
def test_parse_requirement_specifiers(text, name, spec, version, extras, marker):
    r = parse_requirement(text)
    assert (r.name, r.specifier, r.version, r.extras, r.marker, r.url) == (name, spec, version, extras, marker, None)


@pytest.mark.parametrize("text,name,url", [
    ("pkg @ https://h/pkg-1.0.tar.gz", "pkg", "https://h/pkg-1.0.tar.gz"),
    ("SomeProject@git+https://git.repo/some_pkg.git@1.3.1", "SomeProject", "git+https://git.repo/some_pkg.git@1.3.1"),
    ("pkg @ file:///srv/pkg", "pkg", "file:///srv/pkg"),
    ("git+https://h/r.git@main#egg=MyPkg", "MyPkg", "git+https://h/r.git@main#egg=MyPkg"),
    ("git+ssh://git@github.com/my/repo.git@v1#egg=PACKAGE_NAME&subdirectory=sub", "PACKAGE_NAME",
     "git+ssh://git@github.com/my/repo.git@v1#egg=PACKAGE_NAME&subdirectory=sub"),
    ("hg+https://hg.repo/p#egg=p", "p", "hg+https://hg.repo/p#egg=p"),
    ("svn+svn://svn.repo/p/trunk#egg=p", "p", "svn+svn://svn.repo/p/trunk#egg=p"),
    ("bzr+lp:MyProject#egg=MyProject", "MyProject", "bzr+lp:MyProject#egg=MyProject"),
    # sdist archives are named from the file name (pip leaves them unnamed until it builds them)
    ("https://h/SomePackage-1.0.4.zip", "SomePackage", "https://h/SomePackage-1.0.4.zip"),
    ("./downloads/SomePackage-1.0.4.tar.gz", "SomePackage", "./downloads/SomePackage-1.0.4.tar.gz"),
    ("sampleproject-1.0.tar.gz", "sampleproject", "sampleproject-1.0.tar.gz"),
    ("https://h/pkg.zip", None, "https://h/pkg.zip"),
    ("https://h/my-pkg-2.0rc1.tar.bz2", "my-pkg", "https://h/my-pkg-2.0rc1.tar.bz2"),
    ("path/to/SomeProject", None, "path/to/SomeProject"),
    (".", None, "."),
    ("file:///home/u/p#egg=p", "p", "file:///home/u/p#egg=p"),
])
def test_parse_requirement_urls_and_paths(text, name, url):
    r = parse_requirement(text)
    assert (r.name, r.url) == (name, url)


def test_parse_requirement_wheel_names_its_project_and_version():
    r = parse_requirement("http://my.repo/SomeProject-1.2.3-py33-none-any.whl")
    assert (r.name, r.version, r.specifier) == ("SomeProject", "1.2.3", "==1.2.3")
    r = parse_requirement("./somepackage-1.0-py2.py3-none-any.whl[my-extras]")
    assert (r.name, r.version, r.extras, r.url) == ("somepackage", "1.0", ("my-extras",), "./somepackage-1.0-py2.py3-none-any.whl")


def test_parse_requirement_url_marker_needs_semicolon_space():
    r = parse_requirement('https://h/p-1.0.tar.gz#egg=p; sys_platform == "linux"')
    assert r.marker == 'sys_platform == "linux"' and r.url == "https://h/p-1.0.tar.gz#egg=p"


def test_parse_requirement_path_with_extras():
    r = parse_requirement(".[PDF]")
    assert (r.url, r.extras) == (".", ("pdf",))


def test_egg_fragment_and_extras():
    assert egg_fragment("git+https://h/r#egg=MyProject[security]") == ("MyProject", ("security",))
    assert egg_fragment("git+https://h/r#subdirectory=x&egg=pkg") == ("pkg", ())
    assert egg_fragment("svn+http://example.com#egg") == (None, ())
    # old files put a version after the name (pip < 24 accepted it): the name is what counts
    assert egg_fragment("https://h/p.tar.gz#egg=my-package==1.2") == ("my-package", ())
    assert egg_fragment("git+https://h/r#egg=buildtimetrend[native]>=0.4.dev4") == ("buildtimetrend", ("native",))
    with pytest.raises(LineError, match="not a project name"):
        egg_fragment("https://h/p.tar.gz#egg===1.2")
    with pytest.raises(LineError, match="not a project name"):
        egg_fragment("https://h/p.tar.gz#egg=-x")


@pytest.mark.parametrize("text", [
    "test>>1.2.0", "test=>1.2.0", "fabric==dev", "pytest >= 2.0.0 [tests]",
    "SomePackage1 SomePackage2", "novcs+http://example.com#egg=a", 'pkg; python_version <<< "3"',
    "bad-wheel.whl", "git@github.com:org/formula.git==v1.0.0", "pkg @ ./local/dir",
])
def test_parse_requirement_invalid(text):
    with pytest.raises(LineError):
        parse_requirement(text)


def test_parse_requirement_single_equals_hint():
    with pytest.raises(LineError, match="did you mean =="):
        parse_requirement("requests=2.0")


def test_wheel_name_version():
    assert wheel_name_version("https://h/a/numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.whl#sha256=x") == ("numpy", "1.26.4")
    with pytest.raises(LineError):
        wheel_name_version("numpy.whl")


@pytest.mark.parametrize("text,name,url", [
    (".", None, "."),
    ("path/to/project", None, "path/to/project"),
    ("git+https://git.repo/some_pkg.git@feature#egg=SomePackage", "SomePackage", "git+https://git.repo/some_pkg.git@feature#egg=SomePackage"),
    ("git://git.myproject.org/MyProject.git@v1.0#egg=MyProject", "MyProject", "git+git://git.myproject.org/MyProject.git@v1.0#egg=MyProject"),
    ("file:///srv/x#egg=x", "x", "file:///srv/x"),
])
def test_parse_editable(text, name, url):
    r = parse_editable(text)
    assert r.editable and r.name == name and r.url.split("#")[0] == url.split("#")[0]


@pytest.mark.parametrize("text,needle", [
    ("git+https://h/r.git", "add #egg"),
    ("git+git@github.com:pypa/pipenv.git#egg=pipenv", "scp-style"),
    ("https://h/p-1.0.tar.gz", "not a valid editable"),
])
def test_parse_editable_invalid(text, needle):
    with pytest.raises(LineError, match=needle):
        parse_editable(text)


def test_split_extras_suffix_and_is_url():
    assert split_extras_suffix("./p[a, B]") == ("./p", ("a", "b"))
    assert split_extras_suffix("./p") == ("./p", ())
    assert is_url("git+ssh://h/r") and is_url("HTTPS://h/x") and is_url("bzr+lp:x")
    assert not is_url("C:\\pkgs\\x.whl") and not is_url("requests") and not is_url("novcs+http://x")


# ---------------------------------------------------------------- files


def read(tmp_path, text, name="requirements.txt", env=None):
    p = tmp_path / name
    p.write_text(text)
    return read_requirements(str(p), ReadOptions(env=env or {}))


def packages(items):
    return [i for i in items if isinstance(i, PackageRef)]


def findings(items):
    return [i for i in items if isinstance(i, Finding)]


def test_file_hashes_continuations_and_locations(tmp_path):
    items = read(tmp_path, f"# pinned\nrequests==2.32.3 \\\n    --hash=sha256:{H1} \\\n    --hash=sha256:{H2}\nsix==1.16.0\n")
    req, six = packages(items)
    assert req.hashes == (f"sha256:{H1}", f"sha256:{H2}")
    assert req.location == Location(str(tmp_path / "requirements.txt"), 2)
    assert six.location.line == 5 and six.hashes == ()
    assert not findings(items)


def test_file_url_fragment_hash_counts_as_hash(tmp_path):
    (pkg,) = packages(read(tmp_path, f"p @ https://h/p-1.0.tar.gz#sha256={H1}\n"))
    assert pkg.hashes == (f"sha256:{H1}",)


def test_file_index_options_are_yielded_once_and_global(tmp_path):
    text = ("numpy==1.26.4\n-i https://mirror.example/simple\n--extra-index-url https://extra.example/simple\n"
            "--find-links ./wheels\n--trusted-host mirror.example\n")
    items = read(tmp_path, text)
    idx = [i for i in items if isinstance(i, IndexRef)]
    assert [(i.kind, i.url, i.location.line) for i in idx] == [
        ("index-url", "https://mirror.example/simple", 2), ("extra-index-url", "https://extra.example/simple", 3),
        ("find-links", "./wheels", 4), ("trusted-host", "mirror.example", 5)]
    (numpy,) = packages(items)
    # options are global in pip: the requirement above them is installed from them too
    assert [i.url for i in numpy.indexes] == ["https://mirror.example/simple", "https://extra.example/simple", "./wheels"]


def test_file_default_index_is_in_effect_without_index_url(tmp_path):
    (pkg,) = packages(read(tmp_path, "--extra-index-url https://extra.example/simple\nacme==1.0\n"))
    assert [i.url for i in pkg.indexes] == [DEFAULT_INDEX, "https://extra.example/simple"]
    assert pkg.indexes[0].location is None


def test_file_index_url_replaces_earlier_extras_like_pip(tmp_path):
    (pkg,) = packages(read(tmp_path, "--extra-index-url https://a/simple\n-i https://b/simple\nx==1\n"))
    assert [i.url for i in pkg.indexes] == ["https://b/simple"]


def test_file_no_index_drops_indexes_keeps_find_links(tmp_path):
    (pkg,) = packages(read(tmp_path, "--no-index --find-links=/local/dir/\n-i https://late/simple\nx==1\n"))
    assert [i.url for i in pkg.indexes] == ["/local/dir/"] and pkg.extra.get("no_index")


def test_file_env_vars(tmp_path):
    items = read(tmp_path, "-i https://${USER_NAME}:${PASS}@${HOST}/simple\n",
                 env={"USER_NAME": "me", "PASS": "pw", "HOST": "idx.example"})
    assert items[0].url == "https://me:****@idx.example/simple"  # expanded, then the secret redacted


def test_file_includes_relative_to_including_file(tmp_path):
    sub = tmp_path / "reqs"
    sub.mkdir()
    (sub / "base.txt").write_text("six==1.16.0\n-c constraints.txt\n")
    (sub / "constraints.txt").write_text("urllib3==2.2.2\n")
    items = read(tmp_path, "-r reqs/base.txt\nrequests==2.32.3\n")
    pkgs = packages(items)
    assert [(p.name, p.constraint, p.location.file, p.location.line) for p in pkgs] == [
        ("six", False, str(sub / "base.txt"), 1),
        ("urllib3", True, str(sub / "constraints.txt"), 1),
        ("requests", False, str(tmp_path / "requirements.txt"), 2)]
    assert not findings(items)


def test_file_requirement_include_inside_constraints_is_requirements_again(tmp_path):
    (tmp_path / "c.txt").write_text("-r more.txt\n")
    (tmp_path / "more.txt").write_text("flask==3.0.0\n")
    (pkg,) = packages(read(tmp_path, "--constraint c.txt\n"))
    assert pkg.name == "flask" and not pkg.constraint


def test_file_missing_include_is_a_finding_and_reading_goes_on(tmp_path):
    items = read(tmp_path, "-r nope.txt\nsix==1.16.0\n")
    (f,) = findings(items)
    assert f.rule == "invalid" and f.location.line == 1 and "nope.txt" in f.message
    assert [p.name for p in packages(items)] == ["six"]


def test_file_include_cycle_is_a_finding(tmp_path):
    (tmp_path / "a.txt").write_text("-r b.txt\nalpha==1\n")
    (tmp_path / "b.txt").write_text("beta==1\n-r a.txt\n")
    items = read(tmp_path, "-r a.txt\n")
    (f,) = findings(items)
    assert "cycle" in f.message and f.location == Location(str(tmp_path / "b.txt"), 2)
    assert sorted(p.name for p in packages(items)) == ["alpha", "beta"]


def test_file_self_include_is_a_cycle(tmp_path):
    items = read(tmp_path, "-r requirements.txt\nx==1\n")
    assert "cycle" in findings(items)[0].message and len(packages(items)) == 1


def test_file_diamond_include_is_read_once(tmp_path):
    (tmp_path / "a.txt").write_text("-r common.txt\n")
    (tmp_path / "b.txt").write_text("-r common.txt\n")
    (tmp_path / "common.txt").write_text("-i https://idx.example/simple\nx==1\n")
    items = read(tmp_path, "-r a.txt\n-r b.txt\n")
    assert len(packages(items)) == 1 and len([i for i in items if isinstance(i, IndexRef)]) == 1
    assert not findings(items)


def test_file_remote_include_is_reported_not_fetched(tmp_path):
    (f,) = findings(read(tmp_path, "-r https://example.com/reqs.txt\n"))
    assert "not fetched" in f.message


def test_file_file_url_include(tmp_path):
    (tmp_path / "other.txt").write_text("six==1.16.0\n")
    (pkg,) = packages(read(tmp_path, f"-r {(tmp_path / 'other.txt').as_uri()}\n"))
    assert pkg.name == "six"


def test_file_invalid_lines_do_not_hide_the_rest(tmp_path):
    items = read(tmp_path, "requests>=>2\n--unknown-option\nsix==1.16.0\nFoo --install-option=x\n")
    fs = findings(items)
    assert [f.location.line for f in fs] == [1, 2, 4] and all(f.rule == "invalid" for f in fs)
    assert [p.name for p in packages(items)] == ["six"]


def test_file_editables(tmp_path):
    items = read(tmp_path, "-e .\n-e git+https://h/r.git@" + "c" * 40 + "#egg=lib\n--editable=./sub[extra]\n")
    pkgs = packages(items)
    assert [(p.name, p.url.split("#")[0], p.editable) for p in pkgs] == [
        (None, ".", True), ("lib", "git+https://h/r.git@" + "c" * 40, True), (None, "./sub", True)]
    assert pkgs[2].extras == ("extra",)


def test_file_constraint_rules_like_pip(tmp_path):
    (tmp_path / "c.txt").write_text("-e .\nhttps://h/p-1.0.tar.gz\nok==1\n")
    items = read(tmp_path, "-c c.txt\n")
    assert [f.location.line for f in findings(items)] == [1, 2]
    assert [(p.name, p.constraint) for p in packages(items)] == [("ok", True)]


def test_file_options_pip_ignores_are_reported(tmp_path):
    items = read(tmp_path, "--index-url http://my.repo/simple/ SomePackage\npsycopg2 --no-binary :all:\n"
                           f"--hash=sha256:{H1}\n")
    msgs = [f.message for f in findings(items)]
    assert any("'SomePackage'" in m for m in msgs)
    assert any("--no-binary" in m for m in msgs)
    assert any("--hash without a requirement" in m for m in msgs)
    assert [p.name for p in packages(items)] == ["psycopg2"]


def test_file_global_options_accepted(tmp_path):
    items = read(tmp_path, "--pre\n--prefer-binary\n--require-hashes\n--only-binary :all:\n--no-binary fred\n"
                           "--use-feature truststore\nx==1 --global-option=--quiet --config-settings k=v\n")
    assert not findings(items) and len(packages(items)) == 1


def test_file_bad_hash_algorithm(tmp_path):
    (f,) = findings(read(tmp_path, "x==1 --hash=md5:abcd\n"))
    assert "md5" in f.message and f.location.line == 1


def test_top_level_missing_file_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="cannot read"):
        list(RequirementsSource(tmp_path / "missing.txt").collect())


def test_undecodable_bytes_are_reported(tmp_path):
    p = tmp_path / "r.txt"
    p.write_bytes(b"six==1.16.0\ncaf\xff==1\n")
    items = read_requirements(str(p), ReadOptions(env={}))
    assert any("not valid utf-8" in f.message for f in findings(items))


# ---------------------------------------------------------------- secrets


@pytest.mark.parametrize("url,expected", [
    ("https://user:s3cret@idx.example/simple", "https://user:****@idx.example/simple"),
    ("https://tok3n@idx.example/simple", "https://****@idx.example/simple"),
    ("git+https://oauth:tok@github.com/o/r.git@main#egg=r", "git+https://oauth:****@github.com/o/r.git@main#egg=r"),
    ("git+ssh://git@github.com/o/r.git", "git+ssh://git@github.com/o/r.git"),
    ("https://pypi.org/simple", "https://pypi.org/simple"),
    ("./wheels", "./wheels"),
])
def test_redact_url(url, expected):
    from guardpolicy.sources.requirements import redact_url

    assert redact_url(url) == expected


def test_credentials_from_env_never_reach_subjects(tmp_path):
    text = "-i https://me:${PASS}@idx.example/simple\n--bogus https://me:${PASS}@idx.example/simple\n" \
           "pkg @ https://${TOKEN}@files.example/pkg-1.0.tar.gz\n"
    items = read(tmp_path, text, env={"PASS": "hunter2", "TOKEN": "ghp_abc"})
    dump = repr(items)
    assert "hunter2" not in dump and "ghp_abc" not in dump
    assert items[0].url == "https://me:****@idx.example/simple"


def test_include_depth_is_bounded(tmp_path):
    for i in range(80):
        (tmp_path / f"r{i}.txt").write_text(f"-r r{i + 1}.txt\npkg{i}==1\n")
    (tmp_path / "r80.txt").write_text("last==1\n")
    items = read_requirements(str(tmp_path / "r0.txt"), ReadOptions(env={}))
    (f,) = findings(items)
    assert "nested deeper" in f.message and len(packages(items)) == 64


def test_include_of_a_directory_is_a_finding(tmp_path):
    (tmp_path / "sub").mkdir()
    (f,) = findings(read(tmp_path, "-r sub\n"))
    assert "cannot read included file" in f.message


# ---------------------------------------------------------------- fast paths agree with the full parsers


@pytest.mark.parametrize("text", [
    "requests==2.32.3", "Requests == 2.32.3", "requests[socks, Security]==2.0", "torch==2.1.0+cpu",
    "zope.interface==6.0", "pkg==1!2.0", "a==1.0.post1.dev3", "x==1.0rc1", "A_B-c==0.0.1",
])
def test_simple_pin_fast_path_matches_packaging(text):
    from guardpolicy.sources.requirements import _parse_pep508

    assert parse_requirement(text) == _parse_pep508(text)


@pytest.mark.parametrize("text", ["x==1.0_bad", "x==1.*", "x==1.0 ; python_version>'3'", "x == 1.0,<2"])
def test_simple_pin_fast_path_declines_other_shapes(text):
    from guardpolicy.sources.requirements import _SIMPLE_PIN, _is_version

    m = _SIMPLE_PIN.match(text)
    assert not (m and _is_version(m.group(3)))


@pytest.mark.parametrize("text", [
    f"--hash=sha256:{H1} --hash=sha256:{H2}", f"--hash=sha256:{H1}",
    '--hash="sha256:abc"', "--global-option=--quiet --hash=sha256:ab",
])
def test_option_fast_paths_match_optparse(text):
    import optparse
    import shlex

    from guardpolicy.sources.requirements import _OPTION_PARSER

    values, _ = _OPTION_PARSER.parse_args(shlex.split(text), optparse.Values())
    expected = {k: v for k, v in vars(values).items() if v not in (None, False)}
    assert dict(parse_options(text).values) == expected


# ---------------------------------------------------------------- never a traceback

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_PIECES = st.sampled_from([
    "requests", "==", "2.0", ">=", " ", "\t", "#", " #", "\\", "@", ";", "; ", "[", "]", ",", "'", '"', "-e ", "-r ",
    "-c ", "--hash=", "sha256:", "ab", "--index-url ", "-i", "--extra-index-url=", "https://", "git+", "file:",
    "./", "x.whl", ".tar.gz", "#egg=", "${HOME}", "${X}", "--pre", "--bogus", "python_version", "<", "\u00e9", "\x00",
    "-f", "--trusted-host ", "--no-index", "..", "/",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(_PIECES, max_size=8).map("".join), max_size=6))
def test_any_text_reads_without_an_exception(tmp_path, lines):
    p = tmp_path / "fuzz.txt"
    p.write_text("\n".join(lines), encoding="utf-8")
    for item in read_requirements(str(p), ReadOptions(env={"X": "y"})):
        assert isinstance(item, (PackageRef, IndexRef, Finding))


def test_empty_arbitrary_equality_pins_nothing():
    # packaging < 24 parses "===" with no version, packaging >= 24 refuses it: guard decides itself
    from packaging.specifiers import SpecifierSet

    from guardpolicy.rules.unpinned import is_pinned_specifier
    from guardpolicy.sources.requirements import pinned_version

    assert not is_pinned_specifier("===")
    assert pinned_version(SpecifierSet("===1.0+local")) == "1.0+local" and is_pinned_specifier("===1.0+local")
    assert pinned_version(SpecifierSet("===foobar")) == "foobar" and is_pinned_specifier("===foobar")


@pytest.mark.parametrize("line", ["requests===", "requests ===  ", "requests===;python_version>'3'",
                                  "requests (===)", "requests===,>1", "requests[socks]===  ; os_name=='nt'"])
def test_arbitrary_equality_without_a_version_is_invalid_whatever_packaging_says(tmp_path, line):
    from guardpolicy.pep508 import EMPTY_ARBITRARY_MESSAGE

    p = tmp_path / "r.txt"
    p.write_text(line + "\n", encoding="utf-8")
    (item,) = read_requirements(str(p), ReadOptions(env={}))
    assert isinstance(item, Finding) and item.rule == "invalid"
    assert EMPTY_ARBITRARY_MESSAGE in item.message


@pytest.mark.parametrize("line,version", [("requests===2.32.3", "2.32.3"), ("requests === 1.0+local", "1.0+local"),
                                          ("legacy===2004d", "2004d"), ("legacy===foobar", "foobar")])
def test_arbitrary_equality_with_a_string_is_a_pin(tmp_path, line, version):
    p = tmp_path / "r.txt"
    p.write_text(line + "\n", encoding="utf-8")
    (item,) = read_requirements(str(p), ReadOptions(env={}))
    assert isinstance(item, PackageRef) and item.version == version
