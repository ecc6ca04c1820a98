import pytest

from marketing_engine.engine.identity import Identity, bsuid_region, is_bsuid, is_parent_bsuid


@pytest.mark.parametrize(
	"value",
	[
		"IN.1648738043044942",
		"US.13491208655302741918",
		"US.ENT.11815799212886844830",
		"BR.abcDEF123",
		"IN." + "9" * 128,
	],
)
def test_bsuids_are_recognised(value):
	assert is_bsuid(value)


@pytest.mark.parametrize(
	"value",
	[
		None,
		919876543210,
		"",
		"919876543210",
		"+919876543210",
		"in.1648738043044942",  # the country is upper case
		"IND.1648738043044942",
		"IN1648738043044942",
		"IN.",
		"IN.ENT",
		"IN.ENT.",
		"IN.16487-38043",
		"IN." + "9" * 129,
		" IN.1648738043044942",
	],
)
def test_phone_numbers_and_garbage_are_not_bsuids(value):
	assert not is_bsuid(value)


def test_parent_bsuids_and_regions():
	assert is_parent_bsuid("US.ENT.11815799212886844830")
	assert not is_parent_bsuid("US.11815799212886844830")
	assert bsuid_region("IN.1648738043044942") == "IN"
	assert bsuid_region("US.ENT.11815799212886844830") == "US"
	with pytest.raises(ValueError):
		bsuid_region("919876543210")


def test_an_identity_is_addressed_by_phone_when_known():
	assert Identity(wa_id="919876543210", user_id="IN.1").address == "919876543210"
	assert Identity(user_id="IN.1", username="asha.k").address == "IN.1"
	assert Identity(parent_user_id="US.ENT.2").address == "US.ENT.2"
	assert Identity().address is None
