"""The ``typosquat`` rule on Hugging Face repo ids, through the real engine and shipped data."""

from __future__ import annotations

import pytest

from guardpolicy.engine import Engine
from guardpolicy.model import ModelRef
from guardpolicy.policy import load_policy
from guardpolicy.similarity.hub import HubIndex

REV = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def default_policy():
    return load_policy("default")


def squats(policy, repo_id, repo_type="model"):
    decision = Engine(policy).decide([ModelRef(repo_id=repo_id, repo_type=repo_type, revision=REV)])
    return [f for f in decision.findings if f.rule == "typosquat"]


@pytest.mark.parametrize("repo_id, suggestion, kind", [
    ("meta-Ilama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B", "org-look-alike"),   # capital I for l
    ("meta-l1ama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B", "org-look-alike"),
    ("metallama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B", "org-look-alike"),    # separator
    ("mistrai/Mistral-7B-v0.1", "mistralai/Mistral-7B-v0.1", "org-typo"),
    ("mistralal/Mistral-7B-v0.1", "mistralai/Mistral-7B-v0.1", "org-look-alike"),  # l for i
    ("mistrall/Mistral-7B-v0.1", "mistralai/Mistral-7B-v0.1", "org-typo"),
    ("facebook-research/opt-1.3b", "facebook/opt-1.3b", "org-affix"),
    ("meta-llama-official/Llama-3.1-8B", "meta-llama/Llama-3.1-8B", "org-affix"),
    ("openai2/whisper-large-v3", "openai/whisper-large-v3", "org-affix"),
    ("microsoft-ai/phi-2", "microsoft/phi-2", "org-affix"),
    ("nvidia-hf/anything", "nvidia/anything", "org-affix"),
    ("microsft/phi-2", "microsoft/phi-2", "org-typo"),
    ("hugginface/anything", "huggingface/anything", "org-typo"),
    ("EleutherAl/gpt-j-6b", "EleutherAI/gpt-j-6b", "org-look-alike"),
    ("TheBIoke/Llama-2-7B-GGUF", "TheBloke/Llama-2-7B-GGUF", "org-look-alike"),
    ("bert-base-uncasedd", "bert-base-uncased", "name-typo"),
    ("gpt2-mediun", "gpt2-medium", "name-typo"),
    ("someone/Llama-3.1-8B-Instrcut", "meta-llama/Llama-3.1-8B-Instruct", "name-typo"),
    ("someone/Qwen2.5-7B-lnstruct", "Qwen/Qwen2.5-7B-Instruct", "name-typo"),   # l for I
    ("someone/all-MiniLM-L6-v2x", "sentence-transformers/all-MiniLM-L6-v2", "name-typo"),
])
def test_hub_squats_are_caught(default_policy, repo_id, suggestion, kind):
    found = squats(default_policy, repo_id)
    assert len(found) == 1, repo_id
    f = found[0]
    assert f.details["kind"] == kind
    assert f.details["target"] == suggestion
    assert suggestion in f.suggestion
    assert f.action == "deny"
    assert f.subject == f"hf:{repo_id}@{REV}"


def test_look_alike_org_is_flagged_whatever_the_repo_name(default_policy):
    for name in ("totally-new-model", "x", "Llama-3.1-8B"):
        assert squats(default_policy, f"meta-Ilama/{name}")
        assert squats(default_policy, f"facebook-research/{name}")


def test_case_is_ignored(default_policy):
    assert squats(default_policy, "META-LLAMA/LLAMA-3.1-8B") == []
    assert squats(default_policy, "Bert-Base-Uncased") == []
    assert squats(default_policy, "MISTRAI/x")


@pytest.mark.parametrize("repo_id", [
    "meta-llama/Llama-3.1-8B",
    "meta-llama/Llama-3.1-8B-Instruct",
    "meta-llama/some-brand-new-repo",       # known org, unknown name: only the owner publishes there
    "mistralai/Mistral-7B-v0.1",
    "openai-community/gpt2",               # legitimate look-alike orgs are known
    "google-bert/bert-base-uncased",
    "mistral-community/pixtral-12b",
    "FacebookAI/roberta-base",
    "webAI-Official/anything",
    "bert-base-cased",                     # siblings, not typos
    "bert-base-uncased",
    "gpt2",
    "gpt2-medium",
    "gpt2-xl",
    "facebook/opt-2.7b",
    "facebook/opt-6.7b",
    "someone/opt-6.7b",                    # a re-upload under another name: not judged as a typo
    "someone/opt-13.3b",                   # an unknown size is a variant, not a typo
    "someone/bert-base-multilingual-uncased",
    "someone/Llama-3.1-70B-Instruct",
    "someone/all-MiniLM-L8-v2",            # a size the list does not have: a variant
    "google-deepmind/gemma-2b",            # an unknown org that resembles nothing closely
    "my-org/my-model",
])
def test_legit_repos_are_not_flagged(default_policy, repo_id):
    assert squats(default_policy, repo_id) == []


def test_datasets_compare_against_datasets(default_policy):
    assert squats(default_policy, "rajpurkar/squad", "dataset") == []
    assert squats(default_policy, "squad_v2", "dataset") == []
    found = squats(default_policy, "rajpurkaar/squad", "dataset")
    assert found and found[0].details["target"] == "rajpurkar/squad"
    found = squats(default_policy, "wikitextt", "dataset")
    assert found and found[0].details["target"].endswith("wikitext")
    assert squats(default_policy, "EleutherAl/pile", "dataset")  # look-alike org, any type


def test_policy_orgs_and_protected_repos(tmp_path):
    path = tmp_path / "guard.toml"
    path.write_text('extends = ["default"]\n[sources]\nhub_orgs = ["acme-research"]\n'
                    '[hub]\nprotected_repos = ["acmecorp/secret-llm"]\n', encoding="utf-8")
    policy = load_policy(str(path))
    assert squats(policy, "acme-research/anything") == []          # allowed org is known
    assert squats(policy, "acmecorp/secret-llm") == []             # the protected repo itself
    assert squats(policy, "acmecorp/other") == []
    found = squats(policy, "acme-reserch/model")                    # typo of a policy org
    assert found and found[0].details["imitated"] == "acme-research"
    found = squats(policy, "acmecorp-official/secret-llm")          # protected org + affix
    assert found and found[0].details["target"] == "acmecorp/secret-llm"
    found = squats(policy, "evil/secret-llm")                       # protected name, other org
    assert found and found[0].details["kind"] == "protected"


def test_allow_list_covers_repo_ids(tmp_path):
    path = tmp_path / "guard.toml"
    path.write_text('extends = ["default"]\nallow = ["hf:mistrai/*"]\n', encoding="utf-8")
    policy = load_policy(str(path))
    assert squats(policy, "mistrai/Mistral-7B-v0.1") == []
    assert squats(policy, "microsft/phi-2")


def test_small_index_rules():
    idx = HubIndex(models=["acme/widget-base", "acme/widget-large", "solo-model"],
                   orgs={"acme": True, "qwen": True})
    assert idx.match("acme/anything") is None
    assert idx.match("acrne/x").target == "acme"                   # rn -> m on a 4-letter org
    assert idx.match("acmee/x") is None                            # 4 letters: folding only
    assert idx.match("acme-official/x").kind == "org-affix"
    assert idx.match("other/widget-bsae").kind == "name-typo"
    assert idx.match("other/widget-small") is None                 # sibling variant
    assert idx.match("other/widget-base") is None                  # exact reuse: a mirror
    assert idx.match("solo-modle").suggestion == "solo-model"
    assert idx.match("solo-model") is None
    assert idx.match("qvven/x").target == "qwen"


def test_whole_id_look_alike_across_the_slash(default_policy):
    found = squats(default_policy, "metal/lama-Llama-3.1-8B")
    assert found and found[0].details["kind"] == "id-look-alike"
    assert found[0].details["target"] == "meta-llama/Llama-3.1-8B"


def test_spaces_are_judged_by_org_only(default_policy):
    assert squats(default_policy, "someone/bert-base-uncasedd", "space") == []
    assert squats(default_policy, "meta-Ilama/chat-demo", "space")


def test_protected_org_glob_look_alike(tmp_path):
    path = tmp_path / "guard.toml"
    path.write_text('extends = ["default"]\n[sources]\nprotected = ["acme-*"]\n', encoding="utf-8")
    policy = load_policy(str(path))
    assert squats(policy, "acme-research/model") == []              # inside the org's namespace
    found = squats(policy, "acrne-research/model")
    assert found and found[0].details["imitated"] == "acme-*"


@pytest.mark.parametrize("repo_id, target", [
    ("someone/qwen11.5-7b-chat", "qwen1.5-7b-chat"),    # a doubled digit inside a version
    ("someone/m5t-base", "mt5-base"),                   # two neighbours swapped across a size token
])
def test_slips_inside_size_and_version_tokens_are_typos(default_policy, repo_id, target):
    from guardpolicy.similarity.hub import _slip

    found = squats(default_policy, repo_id)
    assert found and found[0].details["target"].lower().endswith(target), found
    assert _slip(repo_id.split("/")[1], target)
    assert not _slip("opt-13.3b", "opt-1.3b") and not _slip("opt-6.7b", "opt-2.7b")
