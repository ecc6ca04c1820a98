import csv
import io

import pytest

from marketing_engine.engine.audience_csv import (
	ERROR_KINDS,
	REPORT_COLUMNS,
	WARNING_KINDS,
	CsvFormatError,
	CsvReport,
	MemberRow,
	RowError,
	RowWarning,
	parse_members,
	report_csv,
)


def csv_bytes(*lines: str, newline: str = "\n") -> bytes:
	return (newline.join(lines) + newline).encode("utf-8")


def parse(*lines: str, **kwargs) -> CsvReport:
	kwargs.setdefault("require_consent", False)
	return parse_members(csv_bytes(*lines), **kwargs)


def error_lines(report: CsvReport) -> list[tuple[int, str]]:
	return [(e.line, e.kind) for e in report.errors]


def warning_lines(report: CsvReport) -> list[tuple[int, str]]:
	return [(w.line, w.kind) for w in report.warnings]


# --- Header and delimiters ----------------------------------------------------------------------


def test_semicolon_delimiter_is_sniffed_from_the_header():
	report = parse_members(
		csv_bytes(
			"Customer Name;Mobile No;Email ID;Town;WhatsApp Consent;Labels",
			"Ravi Kumar;98765 43210;ravi@example.in;Pune;Yes;expo|vip",
		)
	)
	assert report.columns == {
		"name": "Customer Name",
		"phone": "Mobile No",
		"email": "Email ID",
		"city": "Town",
		"consent": "WhatsApp Consent",
		"tags": "Labels",
	}
	assert report.errors == []
	assert report.rows == [
		MemberRow(
			line=2,
			name="Ravi Kumar",
			phone="+919876543210",
			region="IN",
			email="ravi@example.in",
			city="Pune",
			consent=True,
			tags=["expo", "vip"],
			line_type="mobile",
			warnings=[],
		)
	]
	assert report.warnings == []


@pytest.mark.parametrize(
	"header, field",
	[
		("Name", "name"),
		("FULL NAME", "name"),
		("client_name", "name"),
		("Contact  Name", "name"),
		("phone", "phone"),
		("Mobile", "phone"),
		("Mobile Number", "phone"),
		("mobile_no", "phone"),
		("WhatsApp", "phone"),
		("Whatsapp Number", "phone"),
		("Phone Number", "phone"),
		("Contact Number", "phone"),
		("Number", "phone"),
		("E-mail", "email"),
		("Email Address", "email"),
		("email_id", "email"),
		("Location", "city"),
		("Opt-in", "consent"),
		("OptIn", "consent"),
		("opt in", "consent"),
		("Marketing Consent", "consent"),
		("Subscribed", "consent"),
		("Tag", "tags"),
	],
)
def test_header_aliases_are_case_space_and_underscore_insensitive(header, field):
	columns = ["Phone", header] if field != "phone" else [header]
	report = parse(",".join(columns), ",".join(["9876543210", "x"][: len(columns)]))
	assert report.columns[field] == header


def test_unknown_columns_are_ignored_and_name_column_is_optional():
	report = parse("Sr No,Phone,Event Date", "1,9876543210,12-Feb-2025")
	assert report.columns == {"phone": "Phone"}
	assert report.rows[0].name == ""
	assert report.rows[0].phone == "+919876543210"
	assert report.rows[0].email is None and report.rows[0].city is None and report.rows[0].tags == []


def test_a_whatsapp_number_column_wins_over_a_phone_column():
	report = parse("Name,Phone,WhatsApp Number", "Ravi,9123456789,9876543210")
	assert report.columns["phone"] == "WhatsApp Number"
	assert report.rows[0].phone == "+919876543210"


def test_tab_delimited_file():
	report = parse("Name\tPhone\tCity", "Ravi Kumar\t98765 43210\tPune, MH")
	assert report.rows[0].name == "Ravi Kumar"
	assert report.rows[0].city == "Pune, MH"


def test_excel_sep_hint_line_names_the_delimiter():
	report = parse("sep=;", "Name;Phone", "Ravi, Kumar;9876543210")
	assert report.columns == {"name": "Name", "phone": "Phone"}
	assert report.rows[0].name == "Ravi, Kumar"
	assert report.rows[0].line == 3


def test_values_are_stripped_and_quoted_values_may_hold_delimiters_and_new_lines():
	report = parse(
		"Name,Phone,City",
		'  "Kumar, Ravi" ,  9876543210 ,  Pune  ',
		'"Anita',
		'Sharma",9876543211,Mumbai',
		"Zoya,9876543212,Delhi",
	)
	assert report.errors == []
	assert [(r.line, r.name, r.city) for r in report.rows] == [
		(2, "Kumar, Ravi", "Pune"),
		(3, "Anita Sharma", "Mumbai"),  # the new line inside the name becomes a space
		(5, "Zoya", "Delhi"),
	]


# --- Decoding -----------------------------------------------------------------------------------


def test_utf8_bom_is_stripped_from_the_first_header():
	report = parse_members(b"\xef\xbb\xbf" + csv_bytes("Phone,Name,Consent", "9876543210,Renée,yes"))
	assert report.columns["phone"] == "Phone"
	assert report.rows[0].name == "Renée"


@pytest.mark.parametrize("encoding, bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_utf16_file_with_bom_as_excel_unicode_text_is_read(encoding, bom):
	text = "Name\tMobile\tConsent\r\nRenée Dsouza\t+91 98765 43210\tYes\r\n\r\nअनिता\t9876543211\tyes\r\n"
	report = parse_members(bom + text.encode(encoding))
	assert report.errors == []
	assert [(r.line, r.name, r.phone) for r in report.rows] == [
		(2, "Renée Dsouza", "+919876543210"),
		(4, "अनिता", "+919876543211"),
	]


def test_utf16_bom_with_broken_content_is_a_format_error():
	with pytest.raises(CsvFormatError, match="not valid UTF-16"):
		parse_members(b"\xff\xfe" + "Phone\n".encode("utf-16-le") + b"\x00\xd8")


def test_a_latin1_line_is_reported_with_its_line_number_and_other_lines_are_kept():
	raw = (
		csv_bytes("Name,Phone", "Ravi,9876543210")
		+ "Renée,9876543211\n".encode("latin-1")
		+ csv_bytes("Zoya,9876543212")
	)
	report = parse_members(raw, require_consent=False)
	assert [r.line for r in report.rows] == [2, 4]
	assert report.errors == [
		RowError(
			line=3,
			reason="encoding: line is not valid UTF-8 (byte 0xe9 at position 4)",
			kind="encoding",
			raw="Ren\ufffde,9876543211",
		)
	]
	assert report.total_lines == 3


def test_a_header_that_is_not_utf8_is_still_read():
	raw = "Nom du client,Phone,Consent\n".encode("latin-1").replace(b"client", b"cli\xe9nt")
	report = parse_members(raw + csv_bytes("9876543210,9876543210,yes"))
	assert report.errors == [] and report.total_lines == 1
	assert report.columns == {"phone": "Phone", "consent": "Consent"}


def test_a_quoted_value_cannot_run_across_a_line_that_is_not_utf8():
	raw = csv_bytes("Name,Phone", '"Ravi,9876543210') + "Renée,9876543211\n".encode("cp1252")
	raw += csv_bytes("Zoya,9876543212")
	report = parse_members(raw, require_consent=False)
	assert error_lines(report) == [(2, "malformed"), (3, "encoding")]
	assert "not closed before line 3" in report.errors[0].reason
	assert [r.line for r in report.rows] == [4]


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_old_mac_line_ends(newline):
	report = parse_members(
		csv_bytes("Phone", "9876543210", "", "9876543211", newline=newline), require_consent=False
	)
	assert [(r.line, r.phone) for r in report.rows] == [(2, "+919876543210"), (4, "+919876543211")]
	assert report.total_lines == 2


def test_blank_lines_are_skipped_but_line_numbers_are_physical():
	report = parse(
		"",
		"Name,Phone",
		"",
		"Ravi,9876543210",
		"   ",
		",,",
		"Sita,12345",
		"",
		"",
		"Zoya,9876543212",
	)
	assert [r.line for r in report.rows] == [4, 10]
	assert error_lines(report) == [(7, "bad_number")]
	assert report.total_lines == 3


def test_an_excel_workbook_is_rejected_with_how_to_save_as_csv():
	with pytest.raises(CsvFormatError, match="Save As"):
		parse_members(b"PK\x03\x04\x14\x00\x06\x00rest of a zip")


# --- Whole-file errors --------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"\n\n  \r\n", b"\xef\xbb\xbf"])
def test_empty_file_is_a_format_error(raw):
	with pytest.raises(CsvFormatError, match="empty"):
		parse_members(raw)


def test_missing_phone_column_names_the_accepted_headers():
	with pytest.raises(CsvFormatError) as e:
		parse_members(csv_bytes("Name,Email,City", "Ravi,ravi@example.in,Pune"))
	message = str(e.value)
	assert "No phone column" in message
	assert "'Name', 'Email', 'City'" in message
	for accepted in ("'Phone'", "'Mobile'", "'Mobile Number'", "'Whatsapp Number'", "'Contact Number'"):
		assert accepted in message


def test_file_without_a_header_line_says_to_add_one():
	with pytest.raises(CsvFormatError, match="add a header line"):
		parse_members(csv_bytes("Ravi,9876543210,Pune", "Sita,9876543211,Delhi"))


def test_header_only_file_is_an_empty_report():
	report = parse("Name,Phone")
	assert report.rows == [] and report.errors == [] and report.total_lines == 0


def test_more_rows_than_max_rows_is_a_format_error():
	lines = ["Phone"] + [f"98765{n:05d}" for n in range(11)]
	assert len(parse(*lines, max_rows=11).rows) == 11
	with pytest.raises(CsvFormatError, match="more than 10 data rows; split the file"):
		parse(*lines, max_rows=10)


def test_lines_that_are_not_utf8_count_towards_max_rows():
	raw = csv_bytes("Name,Phone") + "Renée,9876543210\n".encode("latin-1") * 3
	assert parse_members(raw, max_rows=3).counts_by_kind()["encoding"] == 3
	with pytest.raises(CsvFormatError, match="more than 2 data rows"):
		parse_members(raw, max_rows=2)


# --- Phone numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
	"value, reason",
	[
		("12345", "bad number '12345': wrong number of digits for its country"),
		("+1 555 010 0000", "bad number '+1 555 010 0000': not a valid number for its country"),
		("+999 1234567", "bad number '+999 1234567': unknown country code"),
		("call me", "bad number 'call me': not a phone number"),
		("98765O3210", "bad number '98765O3210': contains letters ('O'): a WhatsApp number has digits only"),
		(
			"98765*43210",
			"bad number '98765*43210': contains symbols ('*'): a WhatsApp number has digits only "
			"(spaces and + - . ( ) / are fine)",
		),
		(
			"9.19876E+11",
			"bad number '9.19876E+11': number was mangled by a spreadsheet (scientific notation): "
			"format the column as text",
		),
		(
			"9.87654E+09",
			"bad number '9.87654E+09': number was mangled by a spreadsheet (scientific notation): "
			"format the column as text",
		),
	],
)
def test_bad_numbers_are_reported_with_a_specific_reason(value, reason):
	report = parse("Name,Phone", f"Ravi,{value}")
	assert report.rows == []
	assert report.errors == [RowError(2, reason, "bad_number", f"Ravi,{value}")]


@pytest.mark.parametrize(
	"value, e164, region",
	[
		("98765 43210", "+919876543210", "IN"),
		("+91-98765-43210", "+919876543210", "IN"),
		("0091 98765 43210", "+919876543210", "IN"),
		("919876543210", "+919876543210", "IN"),
		("919876543210.0", "+919876543210", "IN"),  # a column read as floats keeps its digits
		("p:+919876543210", "+919876543210", "IN"),  # Facebook lead form exports
		("+44 20 7946 0958", "+442079460958", "GB"),
		("+971 50 123 4567", "+971501234567", "AE"),
	],
)
def test_numbers_are_normalised_to_e164_with_their_country(value, e164, region):
	(row,) = parse("Phone", value).rows
	assert (row.phone, row.region) == (e164, region)


def test_default_region_reads_numbers_without_country_code():
	assert parse("Phone", "07911 123456", default_region="GB").rows[0].phone == "+447911123456"
	assert parse("Phone", "07911 123456").rows[0].phone == "+917911123456"


def test_kept_rows_know_their_line_type():
	report = parse("Phone", "9876543210", "+91 22 2345 6789", "+1 415 555 2671", "+91 1800 123 4567")
	assert [r.line_type for r in report.rows] == ["mobile", "fixed_line", "fixed_line_or_mobile", "toll_free"]


def test_indian_landline_is_kept_with_a_landline_warning_and_a_mobile_is_not():
	report = parse("Name,Phone", "Studio,+91 22 2345 6789", "Ravi,98765 43210")
	assert report.errors == []
	assert [(r.phone, r.line_type, r.warnings) for r in report.rows] == [
		("+912223456789", "fixed_line", ["landline"]),
		("+919876543210", "mobile", []),
	]
	assert report.warnings == [
		RowWarning(
			2,
			"landline",
			"fixed-line number: it can receive WhatsApp only if its owner registered it with "
			"WhatsApp Business",
			"Studio,+91 22 2345 6789",
		)
	]


def test_us_number_is_kept_with_a_marketing_warning_and_a_canadian_number_is_not():
	report = parse("Name,Phone", "Ann,+1 415 555 2671", "Bob,+1 613 555 0123")
	assert [(r.region, r.warnings) for r in report.rows] == [("US", ["marketing_not_delivered"]), ("CA", [])]
	assert report.warnings == [
		RowWarning(
			2,
			"marketing_not_delivered",
			"US number: Meta paused marketing template messages to US numbers from 1 April 2025",
			"Ann,+1 415 555 2671",
		)
	]


def test_a_rows_warnings_are_in_the_order_of_warning_kinds():
	report = parse("Phone,Email,City", "+1 415 555 2671,nope,#N/A,extra")
	assert report.rows[0].warnings == ["marketing_not_delivered", "bad_email", "bad_city", "extra_columns"]
	assert [w.kind for w in report.warnings] == report.rows[0].warnings


def test_blank_phone_is_missing_phone():
	report = parse("Name,Phone,City", "Ravi,,Pune", "Sita,  ,Delhi", "Zoya")
	assert report.errors[:2] == [
		RowError(2, "missing phone", "missing_phone", "Ravi,,Pune"),
		RowError(3, "missing phone", "missing_phone", "Sita,  ,Delhi"),
	]


# --- Columns per row ----------------------------------------------------------------------------


def test_row_too_short_to_reach_the_phone_column_is_malformed():
	report = parse("Name,City,Phone,Email", "Ravi,Pune")
	assert report.errors == [
		RowError(2, "wrong number of columns (2, header has 4)", "malformed", "Ravi,Pune")
	]


def test_shifted_row_whose_phone_column_is_unreadable_is_rejected_with_the_hint():
	# An unquoted comma in the name pushes the number into the City column.
	report = parse("Name,Phone,City,Tags", "Sharma, Ravi,9876543210,Pune,expo")
	assert report.rows == [] and report.warnings == []
	assert report.errors == [
		RowError(
			2,
			"bad number 'Ravi': not a phone number; the row has 1 value beyond the header's 4 columns "
			"('expo'): a value with an unquoted comma, like a name 'Sharma, Ravi', shifts the values into "
			"the wrong columns; put such values in double quotes",
			"malformed",
			"Sharma, Ravi,9876543210,Pune,expo",
		)
	]


def test_shifted_row_whose_consent_column_is_unreadable_is_rejected_with_the_hint():
	report = parse("Phone,Name,Consent", "9876543210,Sharma, Ravi,yes")
	assert error_lines(report) == [(2, "malformed")]
	assert report.errors[0].reason.startswith(
		"consent value 'Ravi' is not yes/no; the row has 1 value beyond the header's 3 columns ('yes'): "
		"a value with an unquoted comma"
	)


def test_shifted_row_with_a_mangled_or_missing_number_mentions_the_extra_values():
	report = parse("Name,Phone,City", "Sharma, Ravi,9.87654E+09,Pune", "Iyer, Lakshmi,,Pune")
	assert error_lines(report) == [(2, "malformed"), (3, "malformed")]
	assert report.errors[0].reason.startswith("bad number 'Ravi': not a phone number; the row has 1 value")
	assert report.errors[1].reason.startswith(
		"bad number 'Lakshmi': not a phone number; the row has 1 value beyond the header's 3 columns ('Pune')"
	)


def test_values_beyond_the_header_are_ignored_with_a_warning_when_number_and_consent_read():
	report = parse(
		"Name,Phone,Email,City,Consent,Tags",
		"Ravi,9876543210,ravi@example.in,Pune,yes,wedding,x,,y",
	)
	assert report.errors == []
	(row,) = report.rows
	assert (row.name, row.phone, row.city, row.consent, row.tags) == (
		"Ravi",
		"+919876543210",
		"Pune",
		True,
		["wedding"],
	)
	assert row.warnings == ["extra_columns"]
	assert report.warnings == [
		RowWarning(
			2,
			"extra_columns",
			"2 values beyond the header's 6 columns ignored: 'x', 'y'",
			"Ravi,9876543210,ravi@example.in,Pune,yes,wedding,x,,y",
		)
	]


def test_many_or_long_extra_values_are_listed_shortly():
	report = parse("Phone", "9876543210," + ",".join(["v1", "v2", "v3", "v4", "v5", "v6", "w" * 60]))
	assert report.warnings[0].reason == (
		"7 values beyond the header's 1 columns ignored: 'v1', 'v2', 'v3', 'v4', 'v5' and 2 more"
	)
	report = parse("Phone", "9876543210," + "w" * 60)
	assert report.warnings[0].reason == f"1 value beyond the header's 1 columns ignored: '{'w' * 37}...'"


def test_a_shifted_row_that_reads_is_checked_for_duplicates_and_consent_as_any_other():
	report = parse_members(
		csv_bytes(
			"Phone,Consent,Name", "9876543210,yes,Ravi", "9876543210,yes,Sharma, Ravi", "9876543211,,Sita, K"
		)
	)
	assert error_lines(report) == [(3, "duplicate"), (4, "missing_consent")]
	assert report.warnings == []  # only kept rows have warnings


def test_short_rows_reaching_the_phone_and_trailing_empty_cells_are_fine():
	report = parse("Name,Phone,City,Tags", "Ravi,9876543210", "Sita,9876543211,Pune,vip,,,")
	assert report.errors == []
	assert [(r.city, r.tags) for r in report.rows] == [(None, []), ("Pune", ["vip"])]


def test_unclosed_quote_costs_only_its_own_line():
	report = parse("Name,Phone", '"Ravi,9876543210', "Sita,9876543211", "Zoya,9876543212")
	assert error_lines(report) == [(2, "malformed")]
	assert report.errors[0].reason == 'a quoted value is not closed (unbalanced " quotes)'
	assert [r.line for r in report.rows] == [3, 4]


def test_text_after_a_closing_quote_is_read_leniently_on_a_single_line():
	report = parse("Name,Phone,City", '"Ravi" Kumar,9876543210,"Pune" ', "Sita,9876543211,Delhi")
	assert report.errors == []
	assert [(r.name, r.city) for r in report.rows] == [("Ravi Kumar", "Pune"), ("Sita", "Delhi")]


def test_a_stray_quote_in_a_later_line_does_not_join_it_to_an_unclosed_quote():
	report = parse("Name,Phone", '"Ravi,9876543210', 'Sita,"9876543211"', "Zoya,9876543212")
	assert error_lines(report) == [(2, "malformed")]
	assert [r.line for r in report.rows] == [3, 4]


def test_raw_is_truncated_to_200_characters():
	report = parse("Name,Phone", "R" * 500 + ",12345")
	assert report.errors[0].raw == "R" * 200


# --- Duplicates ---------------------------------------------------------------------------------


def test_duplicates_name_the_first_line_and_the_first_is_kept():
	report = parse(
		"Name,Phone",
		"Ravi,9876543210",
		"Sita,9876543211",
		"Ravi again,+91 98765 43210",
		"Ravi thrice,09876543210",
	)
	assert [(r.line, r.name) for r in report.rows] == [(2, "Ravi"), (3, "Sita")]
	assert report.errors == [
		RowError(4, "duplicate of line 2 (+919876543210)", "duplicate", "Ravi again,+91 98765 43210"),
		RowError(5, "duplicate of line 2 (+919876543210)", "duplicate", "Ravi thrice,09876543210"),
	]


def test_a_number_first_seen_on_a_rejected_row_is_not_a_duplicate():
	report = parse("Name,Phone,Consent", "Ravi,9876543210,maybe", "Ravi,9876543210,yes")
	assert error_lines(report) == [(2, "malformed")]
	assert [r.line for r in report.rows] == [3]


# --- Consent ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
	"value, consent",
	[
		("yes", True),
		("YES", True),
		("Y", True),
		("true", True),
		("1", True),
		("Opted In", True),
		("opted-in", True),
		("opt in", True),
		("Subscribed", True),
		("agreed", True),
		("✓", True),
		("no", False),
		("N", False),
		("FALSE", False),
		("0", False),
		("opted out", False),
		("Unsubscribed", False),
		("", None),
	],
)
def test_consent_values(value, consent):
	report = parse("Phone,Consent", f"9876543210,{value}")
	assert report.errors == []
	assert report.rows[0].consent is consent


def test_consent_value_that_is_not_yes_or_no_is_malformed():
	report = parse("Phone,Consent", "9876543210,maybe")
	assert report.errors == [
		RowError(2, "consent value 'maybe' is not yes/no", "malformed", "9876543210,maybe")
	]


def test_require_consent_keeps_only_rows_that_say_yes():
	report = parse_members(
		csv_bytes("Name,Phone,Consent", "Ravi,9876543210,yes", "Sita,9876543211,", "Zoya,9876543212,no")
	)
	assert [r.line for r in report.rows] == [2]
	assert report.errors == [
		RowError(3, "missing consent", "missing_consent", "Sita,9876543211,"),
		RowError(4, "no consent: the consent column says 'no'", "missing_consent", "Zoya,9876543212,no"),
	]


def test_require_consent_accepts_numbers_with_a_recorded_opt_in_with_consent_none():
	report = parse_members(
		csv_bytes("Name,Phone,Consent", "Ravi,9876543210,yes", "Sita,9876543211,", "Zoya,9876543212,no"),
		consented_numbers={"+919876543211", "+919876543212"},
	)
	assert [(r.line, r.consent) for r in report.rows] == [(2, True), (3, None)]
	# The file explicitly saying "no" is not overridden by an older opt-in.
	assert error_lines(report) == [(4, "missing_consent")]


def test_require_consent_without_a_consent_column():
	raw = csv_bytes("Name,Phone", "Ravi,9876543210", "Sita,9876543211")
	report = parse_members(raw, consented_numbers=frozenset({"+919876543211"}))
	assert report.errors == [
		RowError(2, "missing consent (the file has no consent column)", "missing_consent", "Ravi,9876543210")
	]
	assert [(r.line, r.consent) for r in report.rows] == [(3, None)]
	assert [r.consent for r in parse_members(raw, require_consent=False).rows] == [None, None]


def test_without_require_consent_no_and_blank_rows_are_kept_as_they_say():
	report = parse("Phone,Consent", "9876543210,no", "9876543211,", "9876543212,yes")
	assert [r.consent for r in report.rows] == [False, None, True]


# --- Email and tags -----------------------------------------------------------------------------


@pytest.mark.parametrize(
	"email", ["ravi", "ravi@example", "ravi @example.in", "@example.in", "ravi@@example.in"]
)
def test_bad_email_is_left_blank_with_a_warning_and_the_row_is_kept(email):
	report = parse("Name,Phone,Email,City", f"Ravi,9876543210,{email},Pune")
	assert report.errors == []
	(row,) = report.rows
	assert (row.name, row.phone, row.email, row.city) == ("Ravi", "+919876543210", None, "Pune")
	assert row.warnings == ["bad_email"]
	assert report.warnings == [
		RowWarning(
			2,
			"bad_email",
			f"email '{email}' is not an email address: left blank",
			f"Ravi,9876543210,{email},Pune",
		)
	]


def test_good_and_blank_email():
	report = parse("Phone,Email", "9876543210,ravi.k+expo@studio.co.in", "9876543211,")
	assert [r.email for r in report.rows] == ["ravi.k+expo@studio.co.in", None]
	assert report.warnings == []


def test_a_rejected_row_has_no_warnings_for_its_other_fields():
	report = parse_members(
		csv_bytes("Phone,Email,City,Consent", "9876543210,not-an-email,#N/A,", "+1 415 555 2671,x,#REF!,no")
	)
	assert error_lines(report) == [(2, "missing_consent"), (3, "missing_consent")]
	assert report.warnings == []


# --- City ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
	"city, why",
	[
		("#N/A", "is a spreadsheet error, not a place name"),
		("#REF!", "is a spreadsheet error, not a place name"),
		("#VALUE!", "is a spreadsheet error, not a place name"),
		("#NAME?", "is a spreadsheet error, not a place name"),
		("#DIV/0!", "is a spreadsheet error, not a place name"),
		("#n/a", "is a spreadsheet error, not a place name"),
		("Err:502", "is a spreadsheet error, not a place name"),  # LibreOffice
		("N/A", "is a placeholder, not a place name"),
		("null", "is a placeholder, not a place name"),
		("411001", "has no letters, so it is not a place name"),  # a pin code
		("-", "has no letters, so it is not a place name"),
		("0", "has no letters, so it is not a place name"),
	],
)
def test_a_city_that_is_not_a_place_name_is_left_blank_with_a_warning(city, why):
	report = parse("Name,Phone,City", f"Ravi,9876543210,{city}")
	assert report.errors == []
	(row,) = report.rows
	assert (row.phone, row.city, row.warnings) == ("+919876543210", None, ["bad_city"])
	assert report.warnings == [
		RowWarning(2, "bad_city", f"city '{city}' {why}: left blank", f"Ravi,9876543210,{city}")
	]


def test_a_city_longer_than_140_characters_is_left_blank_and_140_are_kept():
	report = parse("Phone,City", "9876543210," + "P" * 141, "9876543211," + "P" * 140)
	assert [r.city for r in report.rows] == [None, "P" * 140]
	assert report.warnings == [
		RowWarning(
			2,
			"bad_city",
			f"city '{'P' * 37}...' is longer than 140 characters, so it is not a place name: left blank",
			"9876543210," + "P" * 141,
		)
	]


@pytest.mark.parametrize(
	"city", ["Pune", "Pune, MH", "St. Thomas Mount", "पुणे", "Navi Mumbai - 400703", "#Mumbai", "Nanded"]
)
def test_place_names_are_kept(city):
	report = parse("Phone,City", f'9876543210,"{city}"')
	assert report.rows[0].city == city
	assert report.warnings == []


def test_tags_are_split_stripped_and_deduplicated_in_order():
	report = parse(
		"Phone,Tags",
		'9876543210,"wedding, expo ; vip|wedding,, "',
		"9876543211,",
		"9876543212,pre-wedding",
	)
	assert [r.tags for r in report.rows] == [["wedding", "expo", "vip"], [], ["pre-wedding"]]


# --- Report -------------------------------------------------------------------------------------


def test_counts_by_kind_counts_the_kinds_that_occur_in_canonical_order():
	report = parse_members(
		csv_bytes(
			"Name,Phone,Consent",
			"A,9876543210,yes",
			"B,9876543210,yes",
			"C,12345,yes",
			"D,,yes",
			"E,9876543211,",
			"F,9876543212,maybe",
		)
		+ b"G\xe9,9876543213,yes\n"
	)
	assert report.counts_by_kind() == {
		"bad_number": 1,
		"missing_phone": 1,
		"duplicate": 1,
		"missing_consent": 1,
		"encoding": 1,
		"malformed": 1,
	}
	assert tuple(report.counts_by_kind()) == ERROR_KINDS
	assert parse("Phone", "9876543210").counts_by_kind() == {}
	assert parse("Phone", "9876543210", "9876543210", "12345").counts_by_kind() == {
		"bad_number": 1,
		"duplicate": 1,
	}
	assert report.total_lines == len(report.rows) + len(report.errors) == 7


def test_warning_counts_by_kind_counts_the_kinds_that_occur_in_canonical_order():
	report = parse(
		"Phone,Email,City",
		"9876543210,x,#N/A,extra",
		"+91 22 2345 6789,,,",
		"+1 415 555 2671,ann@example.com,Boston",
		"9876543211,y,Pune",
	)
	assert WARNING_KINDS == ("landline", "marketing_not_delivered", "bad_email", "bad_city", "extra_columns")
	assert report.warning_counts_by_kind() == {
		"landline": 1,
		"marketing_not_delivered": 1,
		"bad_email": 2,
		"bad_city": 1,
		"extra_columns": 1,
	}
	assert tuple(report.warning_counts_by_kind()) == WARNING_KINDS
	assert warning_lines(report) == [
		(2, "bad_email"),
		(2, "bad_city"),
		(2, "extra_columns"),
		(3, "landline"),
		(4, "marketing_not_delivered"),
		(5, "bad_email"),
	]
	assert report.counts_by_kind() == {}
	assert parse("Phone", "9876543210").warning_counts_by_kind() == {}


# --- Report file --------------------------------------------------------------------------------


def read_report(data: bytes) -> list[list[str]]:
	assert data.startswith(b"\xef\xbb\xbf")  # Excel reads the file as UTF-8 only with the BOM
	return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


def test_report_csv_lists_rejected_rows_and_warnings_by_line():
	report = parse("Name,Phone,Email", "Ravi,9876543210,nope", "Sita,12345,", "Zoya,+91 22 2345 6789,")
	assert read_report(report_csv(report)) == [
		["Line", "Outcome", "Kind", "Reason", "Row"],
		[
			"2",
			"warning",
			"bad_email",
			"email 'nope' is not an email address: left blank",
			"Ravi,9876543210,nope",
		],
		[
			"3",
			"rejected",
			"bad_number",
			"bad number '12345': wrong number of digits for its country",
			"Sita,12345,",
		],
		[
			"4",
			"warning",
			"landline",
			"fixed-line number: it can receive WhatsApp only if its owner registered it with "
			"WhatsApp Business",
			"Zoya,+91 22 2345 6789,",
		],
	]
	assert REPORT_COLUMNS == ("Line", "Outcome", "Kind", "Reason", "Row")


def test_report_csv_round_trips_commas_quotes_and_new_lines():
	report = parse(
		"Name,Phone,Email,City",
		'"Kumar, ""Ravi""",9876543210,"ravi, k@x",#N/A',
		'"Anita',
		'Sharma",98765,,',
		'Ren\u00e9e \u0905\u0928\u093f\u0924\u093e,9876543211,,"',
	)
	rows = read_report(report_csv(report))
	assert [row[:3] for row in rows[1:]] == [
		["2", "warning", "bad_email"],
		["2", "warning", "bad_city"],
		["3", "rejected", "bad_number"],
		["5", "rejected", "malformed"],
	]
	assert rows[1][3] == "email 'ravi, k@x' is not an email address: left blank"
	assert rows[1][4] == rows[2][4] == '"Kumar, ""Ravi""",9876543210,"ravi, k@x",#N/A'
	assert rows[3][4] == '"Anita\nSharma",98765,,'  # the record's two lines, as in the file
	assert rows[4][4] == 'Ren\u00e9e \u0905\u0928\u093f\u0924\u093e,9876543211,,"'
	expected = sorted(
		[(str(e.line), "rejected", e.kind, e.reason, e.raw) for e in report.errors]
		+ [(str(w.line), "warning", w.kind, w.reason, w.raw) for w in report.warnings],
		key=lambda row: int(row[0]),
	)
	assert [tuple(row) for row in rows[1:]] == expected


def test_report_csv_lines_end_as_excel_writes_them():
	data = report_csv(parse("Phone", "12345"))
	assert data.count(b"\r\n") == 2 and data.endswith(b"\r\n")


def test_report_csv_cells_a_spreadsheet_would_run_as_formulas_are_made_text():
	report = parse("Phone,Name", "=1+2,x", "+12345,y", "-5,z", "@SUM(A1),w")
	rows = read_report(report_csv(report))
	assert [row[4] for row in rows[1:]] == ["'=1+2,x", "'+12345,y", "'-5,z", "'@SUM(A1),w"]
	assert [row[3] for row in rows[1:]] == [e.reason for e in report.errors]  # reasons start with words


def test_report_csv_of_a_clean_file_is_the_header_only():
	assert report_csv(parse("Phone", "9876543210")) == b"\xef\xbb\xbfLine,Outcome,Kind,Reason,Row\r\n"


# A lead list as studios bring it back from an expo: typed by hand in Excel, one line saved in
# Windows-1252 (pasted from an old sheet), a blank line and a ",,," line in the middle.
WEDDING_EXPO_LINES = [
	"\ufeffSr. No.,Full Name,WhatsApp Number,Email ID,City,Opt-In,Interested In,Tags",
	'1,Ravi Kumar,98765 43210,ravi.kumar@gmail.com,Pune,Yes,Wedding,"wedding, expo-2025"',
	"2,Priya Sharma,+91 91234 56789,,Mumbai,yes,Pre-wedding,pre-wedding|expo-2025",
	"3,Anjali & Rohit,9.19876E+11,anjali@yahoo.in,Nashik,Yes,Wedding,",
	"4,Sneha Patil,,sneha@gmail.com,Pune,Yes,Maternity,",
	"",
	"5,Vikram Singh,98765-43210,vikram@gmail.com,Delhi,Yes,Wedding,",
	"6,Meera Iyer,9840012345,meera.iyer@,Chennai,Yes,Baby shoot,",
	"7,Arjun Mehta,98200 12345,,Mumbai,No,Wedding,",
	"8,Kavya Reddy,9000012345,,Hyderabad,,Engagement,",
	"9,Rahul Verma,12345,,Jaipur,Yes,Wedding,",
	"10,Fatima Shaikh,+971 50 123 4567,fatima@outlook.com,Dubai,Yes,Destination wedding,nri",
	"11,Deepak,9988776655,,Indore,Maybe,Wedding,",
	"12,Pooja Nair,9123456780,pooja@gmail.com,Kochi,✓,Wedding,expo-2025; vip",
	",,,,,,,",
	"13,Sanjay Gupta,+91 98765 43210,sanjay@gmail.com,Lucknow,Yes,Wedding,",
	"14,Nisha,9812345678",
	"15,Renée D'Souza,9822012345,,Goa,Yes,Wedding,",  # saved as cp1252 below
	'16,"Iyer, Lakshmi",9845012345,lakshmi@gmail.com,Bengaluru,yes,Wedding,',
	"17,Amit Joshi,9.87654E+09,,Pune,Yes,Wedding,",
	"18,Harpreet Kaur,+91 98140 12345,harpreet@gmail.com,Ludhiana,Opted In,Wedding,Expo-2025;punjabi",
	"19,Zoya Khan,9819012345,zoya@gmail.com,Mumbai,Yes,Wedding,Sangeet,Mehendi",
	"20,Tanvi Desai,9004512345,,Surat,Yes,Wedding,expo-2025",
]
WEDDING_EXPO = b"".join(
	line.encode("cp1252" if line.startswith("15,") else "utf-8") + b"\r\n" for line in WEDDING_EXPO_LINES
)


def test_wedding_expo_list_gives_an_exact_report():
	report = parse_members(WEDDING_EXPO, consented_numbers={"+919000012345"})
	assert report.columns == {
		"name": "Full Name",
		"phone": "WhatsApp Number",
		"email": "Email ID",
		"city": "City",
		"consent": "Opt-In",
		"tags": "Tags",
	}
	assert [(r.line, r.name, r.phone, r.region, r.consent) for r in report.rows] == [
		(2, "Ravi Kumar", "+919876543210", "IN", True),
		(3, "Priya Sharma", "+919123456789", "IN", True),
		(8, "Meera Iyer", "+919840012345", "IN", True),  # kept without its broken email
		(10, "Kavya Reddy", "+919000012345", "IN", None),
		(12, "Fatima Shaikh", "+971501234567", "AE", True),
		(14, "Pooja Nair", "+919123456780", "IN", True),
		(19, "Iyer, Lakshmi", "+919845012345", "IN", True),
		(21, "Harpreet Kaur", "+919814012345", "IN", True),
		(22, "Zoya Khan", "+919819012345", "IN", True),  # "Mehendi" beyond the header ignored
		(23, "Tanvi Desai", "+919004512345", "IN", True),
	]
	assert [(e.line, e.kind, e.reason) for e in report.errors] == [
		(
			4,
			"bad_number",
			"bad number '9.19876E+11': number was mangled by a spreadsheet (scientific notation): "
			"format the column as text",
		),
		(5, "missing_phone", "missing phone"),
		(7, "duplicate", "duplicate of line 2 (+919876543210)"),
		(9, "missing_consent", "no consent: the consent column says 'No'"),
		(11, "bad_number", "bad number '12345': wrong number of digits for its country"),
		(13, "malformed", "consent value 'Maybe' is not yes/no"),
		(16, "duplicate", "duplicate of line 2 (+919876543210)"),
		(17, "missing_consent", "missing consent"),
		(18, "encoding", "encoding: line is not valid UTF-8 (byte 0xe9 at position 7)"),
		(
			20,
			"bad_number",
			"bad number '9.87654E+09': number was mangled by a spreadsheet (scientific notation): "
			"format the column as text",
		),
	]
	assert [(w.line, w.kind, w.reason) for w in report.warnings] == [
		(8, "bad_email", "email 'meera.iyer@' is not an email address: left blank"),
		(22, "extra_columns", "1 value beyond the header's 8 columns ignored: 'Mehendi'"),
	]
	assert report.rows[0].tags == ["wedding", "expo-2025"]
	assert report.rows[1].tags == ["pre-wedding", "expo-2025"]
	assert report.rows[2].email is None and report.rows[2].city == "Chennai"
	assert report.rows[5].tags == ["expo-2025", "vip"]
	assert report.rows[4].email == "fatima@outlook.com" and report.rows[4].city == "Dubai"
	assert report.rows[8].tags == ["Sangeet"]
	assert {r.line_type for r in report.rows} == {"mobile"}
	assert report.errors[8].raw == "15,Ren\ufffde D'Souza,9822012345,,Goa,Yes,Wedding,"
	assert report.total_lines == 20
	assert report.counts_by_kind() == {
		"bad_number": 3,
		"missing_phone": 1,
		"duplicate": 2,
		"missing_consent": 2,
		"encoding": 1,
		"malformed": 1,
	}
	assert report.warning_counts_by_kind() == {"bad_email": 1, "extra_columns": 1}
	assert len(read_report(report_csv(report))) == 1 + len(report.errors) + len(report.warnings)
