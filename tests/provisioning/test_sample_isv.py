"""The sample ISV server, over real HTTP: what the platform's produce, deploy and sync calls get back.

No database: the server is plain Python in a background thread on a free port.
"""

import json
import time

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from marketplace.provisioning import protocol
from marketplace.provisioning.sample_isv import SampleISV, start_sample_isv

ACCESS_KEY = "test-produce-access-key"
JSON = {"Content-Type": "application/json; charset=utf-8"}


@pytest.fixture(scope="module")
def private_key():
    """One RSA-3072 key for the module: generating one per test would be slow."""
    return rsa.generate_private_key(public_exponent=65537, key_size=3072)


@pytest.fixture
def isv(private_key):
    server = start_sample_isv(ACCESS_KEY, private_key=private_key)
    yield server
    server.stop()


def produce(isv, payload, *, key=ACCESS_KEY, timestamp=None, nonce=None, url=None, timeout=5, raw=None):
    """Sign and send a produce call (or a deploy call with url=isv.deploy_url)."""
    body = raw if raw is not None else protocol.body_bytes(payload)
    signed = protocol.signed_produce_url(url or isv.produce_url, key, body, timestamp=timestamp, nonce=nonce)
    return requests.post(signed, data=body, headers=JSON, timeout=timeout)


def sync(isv, call, payload, *, key=ACCESS_KEY, timestamp=None, nonce=None):
    body = protocol.body_bytes(payload)
    headers = protocol.sync_headers(key, body, timestamp=timestamp, nonce=nonce)
    return requests.post(f"{isv.sync_base_url}/produceAPI/v2/{call}", data=body, headers=headers, timeout=5)


def new_instance(order_id="O1001", line_id="L1", **overrides):
    payload = {
        "activity": "newInstance",
        "businessId": protocol.new_nonce(),
        "orderId": order_id,
        "orderLineId": line_id,
        "testFlag": "0",
        "trialFlag": "0",
        "productId": "P100",
        "skuCode": "SKU-STD",
        "customerId": "C9",
        "customerName": "杭州示例科技有限公司",
        "chargingMode": "PERIOD",
        "periodType": "year",
        "periodNumber": 1,
        "expireTime": "20270101000000",
        "orderAmount": "1200.00",
        "extendParams": [{"name": "region", "value": "cn-east"}],
    }
    payload.update(overrides)
    return payload


def make_instance(isv, order_id="O1001", line_id="L1") -> str:
    answer = produce(isv, new_instance(order_id, line_id)).json()
    assert answer["resultCode"] == "000000"
    return answer["instanceId"]


def result_code(response) -> str:
    assert response.status_code == 200
    return response.json()["resultCode"]


# --- produce calls: authentication ------------------------------------------------------------------


def test_health_and_urls(isv):
    response = requests.get(isv.url + "/health", timeout=5)
    assert (response.status_code, response.text) == (200, "ok")
    assert isv.url.startswith("http://127.0.0.1:") and isv.port > 0
    assert isv.produce_url == isv.url + "/produce"
    assert isv.deploy_url == isv.url + "/deploy"
    assert isv.sync_base_url == isv.url


def test_a_correctly_signed_new_instance_succeeds_and_its_credentials_decrypt_with_the_access_key(isv):
    response = produce(isv, new_instance())
    assert response.status_code == 200
    answer = response.json()
    assert answer["resultCode"] == "000000" and answer["resultMsg"] == "success"
    assert answer["encryptType"] == "1"
    instance_id = answer["instanceId"]
    info = answer["appInfo"]
    assert info["frontEndUrl"] == f"{isv.url}/app/{instance_id}"
    assert info["adminUrl"] == f"{isv.url}/admin/{instance_id}"
    assert info["memo"]
    stored = isv.instance(instance_id)
    assert protocol.decrypt_credential(ACCESS_KEY, info["userName"]) == stored.user_name
    assert protocol.decrypt_credential(ACCESS_KEY, info["password"]) == stored.password
    with pytest.raises(ValueError):
        protocol.decrypt_credential("another key", info["password"])
    assert stored.order_line_id == "L1" and stored.status == "active"
    page = requests.get(info["frontEndUrl"], timeout=5)
    assert page.status_code == 200 and "杭州示例科技有限公司" in page.text


@pytest.mark.parametrize(
    "how",
    ["wrong key", "tampered body", "no signature", "lower-case signature is fine"],
)
def test_signatures_are_checked(isv, how):
    payload = new_instance()
    body = protocol.body_bytes(payload)
    timestamp, nonce = str(protocol.now_ms()), protocol.new_nonce()
    signature = protocol.produce_signature(ACCESS_KEY, nonce, timestamp, body)
    if how == "wrong key":
        signature = protocol.produce_signature("not the key", nonce, timestamp, body)
    elif how == "tampered body":
        body = body.replace(b"1200.00", b"0.01")
    elif how == "no signature":
        signature = ""
    else:
        signature = signature.lower()
    url = f"{isv.produce_url}?signature={signature}&timestamp={timestamp}&nonce={nonce}"
    code = result_code(requests.post(url, data=body, headers=JSON, timeout=5))
    assert code == ("000000" if how.startswith("lower-case") else "000001")
    assert len(isv.instances) == (1 if how.startswith("lower-case") else 0)


@pytest.mark.parametrize("offset_ms", [-61_000, 61_000])
def test_a_timestamp_more_than_60_seconds_away_is_refused(isv, offset_ms):
    stale = str(protocol.now_ms() + offset_ms)
    assert result_code(produce(isv, new_instance(), timestamp=stale)) == "000001"
    assert result_code(produce(isv, new_instance(), timestamp=str(protocol.now_ms() - 50_000))) == "000000"


def test_a_replayed_nonce_is_refused(isv):
    nonce = protocol.new_nonce()
    assert result_code(produce(isv, new_instance(), nonce=nonce)) == "000000"
    assert result_code(produce(isv, new_instance(), nonce=nonce)) == "000001"


def test_a_key_rotation_is_followed_by_assigning_the_new_key(isv):
    isv.access_key = "rotated-key"
    assert result_code(produce(isv, new_instance())) == "000001"
    answer = produce(isv, new_instance(), key="rotated-key").json()
    assert protocol.decrypt_credential("rotated-key", answer["appInfo"]["password"])


# --- produce calls: parameters and activities ---------------------------------------------------------


@pytest.mark.parametrize("activity", protocol.ACTIVITIES)
def test_each_missing_required_field_is_an_invalid_parameter(isv, activity):
    for name in protocol.REQUIRED_FIELDS[activity]:
        payload = {field: "x" for field in protocol.REQUIRED_FIELDS[activity]}
        payload["activity"] = activity
        del payload[name]
        answer = produce(isv, payload).json()
        assert answer["resultCode"] == "000002", name
        assert name in answer["resultMsg"]


@pytest.mark.parametrize(
    "payload",
    [
        {"activity": "makeCoffee"},
        {"orderId": "O1"},
        new_instance(chargingMode="FOREVER"),
        {"activity": "updateInstanceStatus", "instanceId": "x", "status": "PAUSE", "testFlag": "0"},
    ],
)
def test_an_unknown_activity_or_value_is_an_invalid_parameter(isv, payload):
    assert result_code(produce(isv, payload)) == "000002"


def test_a_body_that_is_not_json_is_an_invalid_parameter(isv):
    assert result_code(produce(isv, None, raw=b"not json")) == "000002"
    assert result_code(produce(isv, None, raw=b"[1, 2]")) == "000002"


def test_a_repeated_new_instance_for_the_same_order_line_answers_the_same_instance(isv):
    first = produce(isv, new_instance()).json()
    again = produce(isv, new_instance()).json()  # a new businessId, as on a retry
    other_line = produce(isv, new_instance(line_id="L2")).json()
    assert again["resultCode"] == "000000"
    assert again["instanceId"] == first["instanceId"] != other_line["instanceId"]
    assert protocol.decrypt_credential(ACCESS_KEY, again["appInfo"]["password"]) == protocol.decrypt_credential(
        ACCESS_KEY, first["appInfo"]["password"]
    )
    assert len(isv.instances) == 2
    assert isv.count("newInstance") == 3
    assert isv.instance_for_line("O1001", "L1").instance_id == first["instanceId"]


def test_refresh_freeze_unfreeze_release_and_query(isv):
    instance_id = make_instance(isv)
    line = {"orderId": "O1001", "orderLineId": "L1", "testFlag": "0"}
    refresh = {"activity": "refreshInstance", "instanceId": instance_id, **line, "productId": "P100"}
    refresh |= {"skuCode": "SKU-STD", "scene": "RENEWAL", "expireTime": "20280101000000"}
    assert result_code(produce(isv, refresh)) == "000000"
    assert isv.instance(instance_id).expire_time == "20280101000000"
    assert result_code(produce(isv, {**refresh, "instanceId": "nope"})) == "000003"

    status = {"activity": "updateInstanceStatus", "instanceId": instance_id, "testFlag": "0"}
    assert result_code(produce(isv, {**status, "status": "FREEZE"})) == "000000"
    assert isv.instance(instance_id).status == "frozen"
    assert result_code(produce(isv, {**status, "status": "FREEZE"})) == "000000"
    assert result_code(produce(isv, {**status, "status": "UNFREEZE"})) == "000000"
    assert isv.instance(instance_id).status == "active"
    assert result_code(produce(isv, {**status, "instanceId": "nope", "status": "FREEZE"})) == "000003"

    query = produce(isv, {"activity": "queryInstance", "instanceIds": f"{instance_id}, unknown"}).json()
    assert query["resultCode"] == "000000"
    assert [item["instanceId"] for item in query["info"]] == [instance_id]
    app_info = query["info"][0]["appInfo"]
    assert app_info["frontEndUrl"].endswith(f"/app/{instance_id}")
    assert protocol.decrypt_credential(ACCESS_KEY, app_info["password"]) == isv.instance(instance_id).password
    assert result_code(produce(isv, {"activity": "queryInstance", "instanceIds": "unknown"})) == "000003"
    too_many = ",".join(f"i{n}" for n in range(101))
    assert result_code(produce(isv, {"activity": "queryInstance", "instanceIds": too_many})) == "000002"

    release = {"activity": "releaseInstance", "instanceId": instance_id, **line, "scene": "EXPIRED"}
    assert result_code(produce(isv, release)) == "000000"
    assert result_code(produce(isv, release)) == "000000"  # a repeated release succeeds
    assert isv.instance(instance_id).status == "released"
    assert result_code(produce(isv, refresh)) == "000003"
    assert result_code(produce(isv, {"activity": "queryInstance", "instanceIds": instance_id})) == "000003"
    assert result_code(produce(isv, {**release, "instanceId": "never-made"})) == "000003"
    assert isv.count("releaseInstance") == 3


# --- sync calls -----------------------------------------------------------------------------------------


def test_sync_calls_are_verified_recorded_and_the_client_secret_decrypted(isv):
    instance_id = make_instance(isv)
    common = {"instanceId": instance_id, "tenantId": "T1", "testFlag": "0", "timeStamp": "20260101120000"}
    tenant = {**common, "orderId": "O1001", "tenantCode": "acme", "name": "Acme", "domainName": "https://p.example"}
    assert result_code(sync(isv, "tenantSync", {**tenant, "flag": 1})) == "000000"
    assert isv.tenants["T1"]["tenantCode"] == "acme"

    secret = protocol.rsa_encrypt(isv.public_key_pem, "client-secret-value")
    application = {**common, "appId": "A1", "clientId": "cid", "clientSecret": secret, "flag": 1}
    assert result_code(sync(isv, "applicationSync", application)) == "000000"
    assert isv.applications[("T1", "A1")]["clientSecret"] == "client-secret-value"
    assert isv.sync_calls[-1].client_secret == "client-secret-value"
    not_ours = {**application, "clientSecret": protocol.rsa_encrypt(_other_public_key(), "x")}
    assert result_code(sync(isv, "applicationSync", not_ours)) == "000002"

    users = [{"userName": "zhang.san", "name": "张三", "orgCode": "HQ", "role": "admin", "enable": True}]
    auth = {**common, "appId": "A1", "userList": users}
    assert result_code(sync(isv, "authSync", {**auth, "flag": 1})) == "000000"
    assert isv.authorizations[("T1", "A1", "zhang.san")]["name"] == "张三"
    many = [{"userName": f"u{n}"} for n in range(501)]
    assert result_code(sync(isv, "authSync", {**auth, "userList": many, "flag": 1})) == "000002"
    assert result_code(sync(isv, "authSync", {**auth, "flag": 3})) == "000000"
    assert ("T1", "A1", "zhang.san") not in isv.authorizations

    org = {**common, "orgCode": "RD", "orgName": "研发", "parentCode": "HQ"}
    assert result_code(sync(isv, "singleOrgSync", {**org, "flag": 1})) == "000000"
    all_orgs = {**common, "orgInfoList": [{"orgCode": "HQ", "orgName": "总部", "parentCode": ""}]}
    assert result_code(sync(isv, "allOrgSync", all_orgs)) == "000000"
    assert list(isv.organizations) == [("T1", "HQ")]

    # Repeated deletes answer success.
    for call, payload in [("singleOrgSync", org), ("applicationSync", application), ("tenantSync", tenant)]:
        assert result_code(sync(isv, call, {**payload, "flag": 0})) == "000000"
        assert result_code(sync(isv, call, {**payload, "flag": 0})) == "000000"
    assert isv.tenants == {} and isv.applications == {}

    assert result_code(sync(isv, "tenantSync", {**tenant, "flag": 7})) == "000002"
    assert result_code(sync(isv, "tenantSync", {"instanceId": instance_id, "flag": 1})) == "000002"
    calls = [call.call for call in isv.sync_calls]
    assert calls.count("applicationSync") == 4 and calls.count("allOrgSync") == 1
    assert isv.count("authSync") == 3


def _other_public_key() -> str:
    return SampleISV(private_key=rsa.generate_private_key(public_exponent=65537, key_size=3072)).public_key_pem


@pytest.mark.parametrize("how", ["wrong key", "stale", "replay", "no headers"])
def test_sync_signatures_clock_and_nonces_are_checked(isv, how):
    payload = {"instanceId": "i", "tenantId": "T1", "flag": 1, "testFlag": "0", "timeStamp": "20260101120000"}
    if how == "wrong key":
        response = sync(isv, "tenantSync", payload, key="not the key")
    elif how == "stale":
        response = sync(isv, "tenantSync", payload, timestamp=str(protocol.now_ms() - 61_000))
    elif how == "replay":
        nonce = protocol.new_nonce()
        assert result_code(sync(isv, "tenantSync", payload, nonce=nonce)) == "000000"
        response = sync(isv, "tenantSync", payload, nonce=nonce)
    else:
        response = requests.post(
            f"{isv.sync_base_url}/produceAPI/v2/tenantSync", data=json.dumps(payload), headers=JSON, timeout=5
        )
    assert result_code(response) == "000001"
    assert isv.count("tenantSync") == (2 if how == "replay" else 1)


def test_an_unknown_sync_call_or_path_is_not_found(isv):
    assert requests.post(f"{isv.sync_base_url}/produceAPI/v2/coffeeSync", data=b"{}", timeout=5).status_code == 404
    assert requests.get(f"{isv.url}/nowhere", timeout=5).status_code == 404
    assert requests.get(isv.produce_url, timeout=5).status_code == 405


# --- License auto-deployment --------------------------------------------------------------------------


def deploy_payload(deployment_id="D1", **overrides):
    payload = {
        "activity": "deploy",
        "deploymentId": deployment_id,
        "orderId": "O2001",
        "orderLineId": "L1",
        "productId": "P200",
        "skuCode": "LIC-1",
        "parameters": {"host": "10.0.0.8", "adminPassword": "hunter2"},
        "testFlag": "0",
    }
    return payload | overrides


def test_deploy_and_query_deployment(isv):
    answer = produce(isv, deploy_payload(), url=isv.deploy_url).json()
    assert answer["resultCode"] == "000000" and answer["status"] == "succeeded"
    assert len(answer["log"].splitlines()) >= 5
    assert "host=10.0.0.8" in answer["log"] and "hunter2" not in answer["log"]
    query = produce(isv, {"activity": "queryDeployment", "deploymentId": "D1"}, url=isv.deploy_url).json()
    assert (query["resultCode"], query["status"], query["log"]) == ("000000", "succeeded", answer["log"])
    again = produce(isv, deploy_payload(), url=isv.deploy_url).json()
    assert again["log"] == answer["log"] and len(isv.deployments) == 1
    unknown = {"activity": "queryDeployment", "deploymentId": "D404"}
    assert result_code(produce(isv, unknown, url=isv.deploy_url)) == "000003"
    assert result_code(produce(isv, {"activity": "deploy", "deploymentId": "D2"}, url=isv.deploy_url)) == "000002"
    assert result_code(produce(isv, new_instance(), url=isv.deploy_url)) == "000002"
    assert result_code(produce(isv, deploy_payload("D3"), url=isv.deploy_url, key="not the key")) == "000001"


def test_a_processing_deployment_runs_then_succeeds_and_deploy_failed_fails(isv):
    isv.behaviour = "processing"
    isv.processing_rounds = 2
    assert produce(isv, deploy_payload(), url=isv.deploy_url).json()["status"] == "running"
    query = {"activity": "queryDeployment", "deploymentId": "D1"}
    assert produce(isv, query, url=isv.deploy_url).json()["status"] == "running"
    assert produce(isv, query, url=isv.deploy_url).json()["status"] == "succeeded"
    isv.behaviour = "deploy_failed"
    failed = produce(isv, deploy_payload("D2"), url=isv.deploy_url).json()
    assert failed["resultCode"] == "000000" and failed["status"] == "failed" and "ERROR" in failed["log"]


# --- single sign-on callback ------------------------------------------------------------------------


def test_the_oauth_callback_records_the_code(isv):
    response = requests.get(
        f"{isv.url}/oauth/callback", params={"code": "c0de", "state": "s1", "tenant": "T1"}, timeout=5
    )
    assert response.status_code == 200 and "received an authorization code" in response.text.lower()
    assert "text/html" in response.headers["Content-Type"]
    callback = isv.oauth_callbacks[-1]
    assert (callback.code, callback.state, callback.tenant) == ("c0de", "s1", "T1")

    isv.exchange_code = lambda code, state, tenant: f"token for {code}"
    response = requests.get(f"{isv.url}/oauth/callback", params={"code": "c2", "state": "s", "tenant": "T1"}, timeout=5)
    assert "token for c2" in response.text
    assert isv.oauth_callbacks[-1].exchange_result == "token for c2"
    assert requests.get(f"{isv.url}/oauth/callback?error=access_denied", timeout=5).status_code == 400


# --- fault injection ------------------------------------------------------------------------------------


def test_refuse_closes_the_connection_without_an_answer(isv):
    isv.behaviour = "refuse"
    with pytest.raises(requests.ConnectionError):
        produce(isv, new_instance())
    assert isv.count("newInstance") == 1 and isv.instances == []
    assert isv.received_for("newInstance")[0].http_status is None


def test_hang_outlasts_the_callers_timeout_then_does_the_work(isv):
    isv.hang_seconds = 0.6
    isv.behaviour = "hang"
    with pytest.raises(requests.Timeout):
        produce(isv, new_instance(), timeout=0.2)
    deadline = time.monotonic() + 3
    while not isv.instances and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(isv.instances) == 1  # a slow seller still made it: the retry must get the same instance
    isv.behaviour = "normal"
    assert produce(isv, new_instance()).json()["instanceId"] == isv.instances[0].instance_id


def test_hanging_requests_do_not_hold_up_stop(private_key):
    server = start_sample_isv(ACCESS_KEY, private_key=private_key, hang_seconds=30)
    server.behaviour = "hang"
    with pytest.raises(requests.Timeout):
        produce(server, new_instance(), timeout=0.2)
    started = time.monotonic()
    server.stop()
    server.stop()  # repeating is harmless
    assert time.monotonic() - started < 2
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/health", timeout=1)


def test_error500_and_bad_json(isv):
    isv.behaviour = "error500"
    response = produce(isv, new_instance())
    assert response.status_code == 500
    isv.behaviour = "bad_json"
    response = produce(isv, new_instance())
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    isv.behaviour = "error500"
    assert sync(isv, "tenantSync", {"instanceId": "i", "tenantId": "T", "flag": 1}).status_code == 500
    assert requests.get(isv.url + "/health", timeout=5).status_code == 200  # not a platform call
    assert isv.instances == []


def test_processing_answers_000004_then_query_instance_returns_the_instance(isv):
    isv.behaviour = "processing"
    isv.processing_rounds = 2
    first = produce(isv, new_instance()).json()
    assert first["resultCode"] == "000004" and "appInfo" not in first
    instance_id = first["instanceId"]
    assert produce(isv, new_instance()).json() == {
        "resultCode": "000004",
        "resultMsg": "still processing",
        "instanceId": instance_id,
    }
    query = produce(isv, {"activity": "queryInstance", "instanceIds": instance_id}).json()
    assert query["resultCode"] == "000000" and query["info"][0]["instanceId"] == instance_id
    assert produce(isv, new_instance()).json()["resultCode"] == "000000"


def test_processing_rounds_can_be_used_up_by_polling(isv):
    isv.behaviour = "processing"
    isv.processing_rounds = 3
    instance_id = produce(isv, new_instance()).json()["instanceId"]
    query = {"activity": "queryInstance", "instanceIds": instance_id}
    assert [result_code(produce(isv, query)) for _ in range(3)] == ["000004", "000004", "000000"]


def test_new_id_on_repeat_hands_out_a_second_instance_id(isv):
    isv.behaviour = "new_id_on_repeat"
    first = produce(isv, new_instance()).json()["instanceId"]
    second = produce(isv, new_instance()).json()["instanceId"]
    assert first != second and len(isv.instances) == 2
    assert isv.instance_for_line("O1001", "L1").instance_id == second


@pytest.mark.parametrize("code", ["000100", "000005", "000107"])
def test_a_result_code_behaviour_answers_that_code_and_does_nothing(isv, code):
    isv.behaviour = code
    answer = produce(isv, new_instance()).json()
    assert answer["resultCode"] == code and answer["resultMsg"] == protocol.RESULT_CODES[code]
    assert isv.instances == []


def test_a_behaviour_can_be_limited_in_times_and_activities(isv):
    isv.set_behaviour("error500", times=1, activities={"releaseInstance"})
    instance_id = make_instance(isv)
    release = {"activity": "releaseInstance", "instanceId": instance_id, "orderId": "O1001", "orderLineId": "L1"}
    release |= {"scene": "REFUNDED", "testFlag": "0"}
    assert produce(isv, release).status_code == 500
    assert result_code(produce(isv, release)) == "000000"
    assert isv.behaviour == "normal"
    assert [r.behaviour for r in isv.received_for("releaseInstance")] == ["error500", "normal"]
    assert [r.result_code for r in isv.received_for("releaseInstance")] == ["", "000000"]
    with pytest.raises(ValueError):
        isv.behaviour = "explode"


def test_reset_forgets_everything(isv):
    make_instance(isv)
    isv.behaviour = "refuse"
    isv.reset()
    assert isv.instances == [] and isv.counts == {} and isv.behaviour == "normal"
    assert result_code(produce(isv, new_instance())) == "000000"


def test_port_0_picks_free_ports_and_a_fresh_server_makes_its_own_rsa_3072_key():
    with start_sample_isv(ACCESS_KEY) as first, start_sample_isv(ACCESS_KEY) as second:
        assert first.port != second.port
        assert first.private_key.key_size == 3072
        assert "BEGIN PUBLIC KEY" in first.public_key_pem and first.public_key_pem != second.public_key_pem
        assert requests.get(second.url + "/health", timeout=5).text == "ok"


def test_an_unexpected_error_answers_000005(isv, monkeypatch):
    logged = []
    monkeypatch.setattr(isv, "log", logged.append)
    monkeypatch.setattr(isv, "_app_info", lambda instance: 1 / 0)
    assert result_code(produce(isv, new_instance())) == "000005"
    assert "ZeroDivisionError" in logged[0]
    assert result_code(produce(isv, new_instance(chargingMode=["PERIOD"]))) == "000002"
