"""The dashboard's words and number forms, Thai first and English second.

Thai readers see Buddhist Era years everywhere (dates and fiscal years); English readers see
Gregorian dates but still B.E. fiscal years, because that is how the budget bill names them.
Money is always ``฿1,234,567.50`` in tables; charts use the compact forms people say aloud
(``12.5 ล้าน``, ``1.2 พันล้าน`` / ``฿12.5M``, ``฿1.2B``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from ledger.types import BANGKOK, BE_OFFSET

LANGUAGES = ("th", "en")
DEFAULT_LANGUAGE = "th"

_TH_MONTHS = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.")
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# key: (Thai, English). Keys are short English phrases so templates stay readable.
WORDS: dict[str, tuple[str, str]] = {
    "site": ("govledger — บัญชีงบประมาณแผ่นดินที่ตรวจสอบได้", "govledger — a verifiable public budget ledger"),
    "brand": ("บัญชีงบประมาณโปร่งใส", "Open budget ledger"),
    "tagline": (
        "ทุกการเบิกจ่ายบันทึกบนบล็อกเชน ใคร ๆ ก็ตรวจสอบได้",
        "Every disbursement is recorded on a blockchain that anyone can check",
    ),
    "skip": ("ข้ามไปยังเนื้อหา", "Skip to content"),
    "nav": ("เมนูหลัก", "Main menu"),
    "overview": ("ภาพรวม", "Overview"),
    "search": ("ค้นหา", "Search"),
    "track": ("ติดตามคำขอ", "Track a request"),
    "performance": ("ผลการให้บริการ", "Service performance"),
    "verify": ("ตรวจสอบหน้านี้", "Verify this page"),
    "language": ("ภาษา", "Language"),
    "switch_to": ("English", "ภาษาไทย"),
    "fiscal_year": ("ปีงบประมาณ", "Fiscal year"),
    "fy_short": ("ปีงบ", "FY"),
    "overview_lead": (
        "ปีงบประมาณ {fy} หน่วยงานในระบบได้รับจัดสรร {allocated} เบิกจ่ายสุทธิแล้ว {net} ({share}) จาก {count} โครงการ",
        "In fiscal year {fy}, agencies on the ledger were allocated {allocated} and have paid out {net} net ({share})"
        " across {count} projects.",
    ),
    "show": ("แสดง", "Show"),
    "allocated": ("งบที่ได้รับจัดสรร", "Allocated"),
    "disbursed": ("เบิกจ่าย", "Disbursed"),
    "disbursed_gross": ("เบิกจ่าย (รวม)", "Disbursed (gross)"),
    "reversed": ("รายการที่ยกเลิก", "Reversed"),
    "net": ("เบิกจ่ายสุทธิ", "Net disbursed"),
    "remaining": ("คงเหลือ", "Remaining"),
    "used_share": ("ใช้ไปแล้ว", "Spent"),
    "projects": ("โครงการ", "Projects"),
    "project": ("โครงการ", "Project"),
    "n_projects": ("{n} โครงการ", "{n} projects"),
    "n_projects_one": ("{n} โครงการ", "{n} project"),
    "agency": ("หน่วยงาน", "Agency"),
    "agencies": ("หน่วยงาน", "Agencies"),
    "by_agency": ("งบประมาณรายหน่วยงาน", "Budget by agency"),
    "chart_by_agency": (
        "แผนภูมิแท่ง: งบที่ได้รับจัดสรรเทียบกับเบิกจ่ายสุทธิ รายหน่วยงาน",
        "Bar chart: allocated versus net disbursed, by agency",
    ),
    "chart_table_note": (
        "ตัวเลขเดียวกับแผนภูมิอยู่ในตารางด้านล่าง",
        "The same figures as the chart are in the table below.",
    ),
    "sort_hint": ("กดหัวคอลัมน์เพื่อเรียงลำดับ", "Select a column heading to sort"),
    "latest": ("การเบิกจ่ายล่าสุด", "Latest disbursements"),
    "when": ("วันที่ (เวลาไทย)", "Date (Bangkok time)"),
    "amount": ("จำนวนเงิน", "Amount"),
    "payee": ("ผู้รับเงิน (รหัส)", "Payee (reference)"),
    "voucher": ("เลขที่ใบสำคัญ", "Voucher"),
    "proof": ("หลักฐานบนบล็อกเชน", "Chain proof"),
    "entry": ("รายการ", "Entry"),
    "ledger_seq": ("ลำดับบัญชี", "Ledger seq"),
    "block": ("บล็อก", "Block"),
    "tx": ("ธุรกรรม", "Transaction"),
    "json": ("ข้อมูล JSON", "JSON"),
    "merkle": ("หลักฐาน", "Proof"),
    "status": ("สถานะ", "Status"),
    "reversed_mark": ("ยกเลิกแล้ว", "Reversed"),
    "active_mark": ("ปกติ", "Valid"),
    "no_data": ("ยังไม่มีข้อมูล", "No data yet"),
    "no_disbursements": ("ยังไม่มีการเบิกจ่าย", "No disbursements yet"),
    "timeline": ("การเบิกจ่ายสะสมตามเวลา", "Cumulative disbursements over time"),
    "timeline_chart": (
        "แผนภูมิเส้น: เบิกจ่ายสุทธิสะสมรายเดือน เทียบกับงบที่ได้รับจัดสรร",
        "Line chart: cumulative net disbursed by month, against the allocation",
    ),
    "month": ("เดือน", "Month"),
    "table": ("ตาราง", "Table"),
    "chart_as_table": ("ดูตัวเลขของแผนภูมิเป็นตาราง", "The chart's figures as a table"),
    "in_month": ("เบิกจ่ายในเดือน", "Disbursed in month"),
    "reversed_in_month": ("ยกเลิกในเดือน", "Reversed in month"),
    "cumulative": ("สะสมสุทธิ", "Cumulative net"),
    "disbursements": ("รายการเบิกจ่าย", "Disbursements"),
    "showing_latest": ("แสดง {n} รายการล่าสุด", "Showing the latest {n}"),
    "code": ("รหัส", "Code"),
    "name": ("ชื่อ", "Name"),
    "count": ("จำนวนรายการ", "Entries"),
    "search_title": ("ค้นหาโครงการและการเบิกจ่าย", "Search projects and disbursements"),
    "search_label": (
        "รหัสโครงการ ชื่อโครงการหรือหน่วยงาน (ไทยหรืออังกฤษ) หรือรหัสผู้รับเงิน",
        "Project code, project or agency name (Thai or English), or payee reference",
    ),
    "search_button": ("ค้นหา", "Search"),
    "results_projects": ("โครงการที่พบ", "Projects found"),
    "results_payee": ("การเบิกจ่ายให้ผู้รับเงินรหัสนี้", "Disbursements to this payee"),
    "nothing_found": ("ไม่พบผลลัพธ์สำหรับ “{q}”", "Nothing found for “{q}”"),
    "search_too_long": ("คำค้นยาวเกินไป (ไม่เกิน 100 ตัวอักษร)", "The search text is too long (100 characters at most)"),
    "track_title": ("ติดตามสถานะคำขอ", "Track your request"),
    "track_label": ("รหัสติดตาม 32 ตัวอักษรบนใบรับคำขอ", "The 32-character tracking code on your receipt"),
    "track_button": ("ติดตาม", "Track"),
    "track_example": ("ตัวอย่าง: 7K3M-Q9XA-…", "For example: 7K3M-Q9XA-…"),
    "track_unknown": (
        "ไม่พบคำขอที่ใช้รหัสนี้ กรุณาตรวจสอบรหัสบนใบรับคำขออีกครั้ง (ตัว O อ่านเป็น 0 และ I, L อ่านเป็น 1 ได้)"
        " หากเพิ่งยื่นคำขอ ระบบอาจต้องใช้เวลาสักครู่ก่อนแสดงผล",
        "We found no request with this code. Please check the code on your receipt (O may be typed as 0, and I or L"
        " as 1). If you applied just now, it may take a moment to appear.",
    ),
    "track_privacy": (
        "หน้านี้ไม่แสดงข้อมูลส่วนบุคคลใด ๆ มีเพียงสถานะและกำหนดเวลาตามกฎหมาย",
        "This page shows no personal data: only the status and the legal deadlines.",
    ),
    "service": ("บริการ", "Service"),
    "current_state": ("สถานะปัจจุบัน", "Current status"),
    "opened": ("ยื่นเมื่อ", "Opened"),
    "step": ("ขั้นตอน", "Step"),
    "entered": ("เริ่มขั้นตอน", "Step started"),
    "left": ("ดำเนินการเสร็จ", "Step done"),
    "note": ("หมายเหตุ", "Note"),
    "by": ("โดย", "By"),
    "limit": ("กำหนดตามกฎหมาย", "Legal time limit"),
    "deadline": ("ครบกำหนด", "Deadline"),
    "taken": ("ใช้เวลา", "Time taken"),
    "working_days": ("{n} วันทำการ", "{n} working days"),
    "no_limit": ("ไม่มีกำหนด", "No limit"),
    "met": ("ทันกำหนด", "On time"),
    "overdue": ("เกินกำหนด", "Overdue"),
    "open": ("อยู่ระหว่างดำเนินการ", "In progress"),
    "overdue_by": ("เกินกำหนด {n} วันทำการ", "{n} working days late"),
    "finished": ("สิ้นสุดแล้ว", "Finished"),
    "complain_title": ("หากล่าช้าหรือไม่เป็นธรรม ร้องเรียนได้ที่", "If it is late or unfair, complain to"),
    "complain_agency": (
        "หน่วยงานเจ้าของเรื่อง: {agency} — ตาม พ.ร.บ. การอำนวยความสะดวกในการพิจารณาอนุญาตของทางราชการ"
        " พ.ศ. 2558 หน่วยงานต้องแจ้งเหตุแห่งความล่าช้าเป็นหนังสือ",
        "The agency handling it: {agency}. Under the Licensing Facilitation Act B.E. 2558 it must give you a"
        " written notice of any delay.",
    ),
    "complain_damrongdham": ("ศูนย์ดำรงธรรม โทร 1567", "Damrongdham Centre, call 1567"),
    "complain_1111": ("ศูนย์บริการประชาชน สำนักปลัดสำนักนายกรัฐมนตรี โทร 1111", "Government Contact Centre, call 1111"),
    "complain_code": (
        "แจ้งรหัสติดตามนี้เมื่อร้องเรียน เจ้าหน้าที่จะเห็นประวัติเดียวกับที่คุณเห็น",
        "Quote this tracking code: the officer sees the same history you see.",
    ),
    "perf_title": ("ผลการให้บริการตามกำหนดเวลา", "Service performance against legal time limits"),
    "perf_intro": (
        "สัดส่วนขั้นตอนที่เสร็จทันกำหนด และจำนวนวันทำการที่ใช้ (มัธยฐาน) ในแต่ละขั้นตอน แยกตามหน่วยงาน",
        "The share of steps finished on time, and the median working days each step took, per agency",
    ),
    "on_time_share": ("ทันกำหนด", "On time"),
    "median_days": ("มัธยฐาน (วันทำการ)", "Median (working days)"),
    "p80_days": ("80% เสร็จภายใน (วันทำการ)", "80% done within (working days)"),
    "completed": ("เสร็จแล้ว", "Completed"),
    "requests": ("คำขอทั้งหมด", "Requests"),
    "per_step": ("รายขั้นตอน (ทุกหน่วยงาน)", "Per step (all agencies)"),
    "per_agency": ("รายหน่วยงาน", "Per agency"),
    "per_agency_step": ("รายหน่วยงานและขั้นตอน", "Per agency and step"),
    "chart_on_time": ("แผนภูมิแท่ง: สัดส่วนขั้นตอนที่ทันกำหนด รายหน่วยงาน", "Bar chart: share of steps on time, by agency"),
    "steps_timed": ("ขั้นตอนที่มีกำหนดเวลา", "Steps with a limit"),
    "state_counts": ("คำขอในแต่ละสถานะ", "Requests in each status"),
    "verify_title": ("ตรวจสอบว่าหน้านี้บอกความจริง", "Check that this page tells the truth"),
    "verify_intro": (
        "ตัวเลขทุกหน้ามาจากสำเนาฐานข้อมูลที่สร้างจากเหตุการณ์บนบล็อกเชนเท่านั้น"
        " ค่าด้านล่างระบุว่าสำเนานี้ครอบคลุมถึงจุดใด ผู้ตรวจสอบสามารถสร้างสำเนาใหม่จากบล็อกเชนเองแล้วเทียบค่าได้",
        "Every figure on these pages comes from a mirror built only from events on the blockchain. The values below"
        " say how far this mirror goes; an auditor can rebuild it from the chain and compare.",
    ),
    "chain_id": ("เครือข่าย (chain id)", "Chain id"),
    "contract": ("สัญญาอัจฉริยะ", "Contract"),
    "indexed_block": ("บล็อกล่าสุดที่บันทึก", "Indexed block"),
    "block_hash": ("แฮชของบล็อก", "Block hash"),
    "ledger_head": ("ค่าแฮชสะสมของบัญชี (ledger head)", "Ledger head"),
    "entries": ("จำนวนรายการในบัญชี", "Ledger entries"),
    "mirror_digest": ("ลายนิ้วมือของสำเนา (mirror digest)", "Mirror digest"),
    "how_audit": ("วิธีตรวจสอบสำหรับผู้ตรวจสอบ", "How an auditor checks it"),
    "how_audit_1": (
        "เทียบสำเนานี้กับบล็อกเชนโดยตรง (ใช้โหนดของหน่วยงานตรวจสอบเอง):",
        "Compare this mirror with the chain directly (through the audit office's own node):",
    ),
    "how_audit_2": (
        "หรือส่งออกชุดหลักฐานแล้วตรวจบนเครื่องที่ไม่ต่อเครือข่าย:",
        "Or export a bundle of evidence and check it on an offline machine:",
    ),
    "how_audit_3": (
        "คำสั่งตรวจบล็อกเฮดเดอร์และใบรับธุรกรรม คำนวณ ledger head ใหม่จากเหตุการณ์ และเทียบ mirror digest"
        " กับสำเนานี้ ผลตรวจผ่าน (verified: everything holds) เมื่อทุกค่าตรงกับค่าบนหน้านี้ทุกตัวอักษร",
        "It checks the block headers and receipts, recomputes the ledger head from the events and compares the"
        " mirror digest with this mirror; it passes (verified: everything holds) when they equal the values on this"
        " page, character for character.",
    ),
    "as_of": ("ข้อมูล ณ บล็อก {block} ({when})", "Data as of block {block} ({when})"),
    "not_found": ("ไม่พบหน้าที่ต้องการ", "Page not found"),
    "not_found_agency": ("ไม่พบหน่วยงานรหัส “{code}”", "No agency with code “{code}”"),
    "not_found_project": ("ไม่พบโครงการรหัส “{code}”", "No project with code “{code}”"),
    "mirror_empty": (
        "ยังไม่มีข้อมูล: ระบบยังไม่ได้อ่านบล็อกเชน (ผู้ดูแลต้องรัน govledger index)",
        "No data yet: the mirror has not read the chain (the operator runs govledger index)",
    ),
    "back_overview": ("กลับหน้าภาพรวม", "Back to the overview"),
    "source": (
        "ข้อมูลงบประมาณตัวอย่าง: ร่าง พ.ร.บ. งบประมาณรายจ่ายประจำปีงบประมาณ พ.ศ. 2565 (kaogeek/thailand-budget-pdf2csv)",
        "Sample budget data: Budget Expenditure Bill FY B.E. 2565 (kaogeek/thailand-budget-pdf2csv)",
    ),
    "api_note": ("ข้อมูลทั้งหมดเปิดผ่าน API", "All data is open through the API"),
    "registered": ("จดทะเบียนบนบล็อกเชน", "Registered on chain"),
    "amendments": ("ปรับงบประมาณ", "Allocation amendments"),
    "all_years": ("ทุกปี", "All years"),
    "years_covered": (
        "ตัวเลขรวมทุกปีงบประมาณของหน่วยงานนี้: {years}",
        "Totals over all of this agency's fiscal years: {years}",
    ),
    "total": ("รวม", "Total"),
    "of_allocation": ("ของงบจัดสรร", "of the allocation"),
    "ministry": ("กระทรวง", "Ministry"),
    "by_ministry": ("งบประมาณรายกระทรวง", "Budget by ministry"),
    "chart_by_ministry": (
        "แผนภูมิแท่ง: งบที่ได้รับจัดสรรเทียบกับเบิกจ่ายสุทธิ รายกระทรวง",
        "Bar chart: allocated versus net disbursed, by ministry",
    ),
    "ministry_rule": (
        "หน่วยงานสังกัดกระทรวงตามรหัสบนบล็อกเชน: รหัส กระทรวง/หน่วยงาน เช่น M-59AE5AA8/BU-86200C034E สังกัด M-59AE5AA8",
        "An agency belongs to the ministry at the root of its code on the chain: MINISTRY/UNIT, e.g."
        " M-59AE5AA8/BU-86200C034E belongs to M-59AE5AA8.",
    ),
    "n_agencies": ("{n} หน่วยงาน", "{n} agencies"),
    "n_agencies_one": ("{n} หน่วยงาน", "{n} agency"),
    "units": ("หน่วยงานในสังกัด", "Agencies of this ministry"),
    "ministry_totals": (
        "ตัวเลขรวมของทุกหน่วยงานในสังกัด ทุกปีงบประมาณ",
        "Totals of all the ministry's agencies, over all fiscal years",
    ),
    "part_of": ("สังกัด", "Part of"),
}

STATE_NAMES: dict[str, tuple[str, str]] = {
    "submitted": ("ยื่นคำขอแล้ว", "Submitted"),
    "school-verified": ("สถานศึกษาตรวจสอบแล้ว", "Verified by the school"),
    "fund-approved": ("กองทุนอนุมัติแล้ว", "Approved by the fund"),
    "contract-signed": ("ลงนามสัญญาแล้ว", "Contract signed"),
    "disbursed": ("จ่ายเงินแล้ว", "Paid out"),
    "closed": ("ปิดเรื่อง", "Closed"),
    "returned-for-correction": ("ส่งกลับให้แก้ไข", "Returned for correction"),
    "rejected": ("ไม่อนุมัติ", "Rejected"),
    "received": ("รับเรื่องแล้ว", "Received"),
    "assigned": ("มอบหมายผู้รับผิดชอบแล้ว", "Assigned"),
    "in-progress": ("กำลังดำเนินการ", "In progress"),
    "resolved": ("แก้ไขเสร็จแล้ว", "Resolved"),
    "withdrawn": ("ถอนเรื่อง", "Withdrawn"),
}

SERVICE_NAMES: dict[str, tuple[str, str]] = {
    "student-loan": ("กู้ยืมเงินเพื่อการศึกษา", "Student loan"),
    "complaint": ("เรื่องร้องเรียน", "Complaint"),
}


def pick_language(query: str | None, cookie: str | None) -> str:
    """The page language: ``?lang=`` wins, then the cookie, then Thai."""
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE


def baht(satang: int) -> str:
    """``฿1,234,567.50``; a negative amount keeps its sign in front of the symbol."""
    sign = "-" if satang < 0 else ""
    whole, part = divmod(abs(satang), 100)
    return f"{sign}฿{whole:,}.{part:02d}"


def _short(number: Decimal) -> str:
    text = f"{number:.2f}" if number < 10 else f"{number:.1f}" if number < 100 else f"{number:,.0f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def compact_baht(satang: int, lang: str) -> str:
    """Chart labels: ``12.5 ล้าน`` / ``1.2 พันล้าน`` in Thai, ``฿12.5M`` / ``฿1.2B`` in English."""
    amount = Decimal(satang) / 100
    if lang == "th":
        for size, unit in ((Decimal(10) ** 9, "พันล้าน"), (Decimal(10) ** 6, "ล้าน"), (Decimal(10) ** 3, "พัน")):
            if abs(amount) >= size:
                return f"{_short(amount / size)} {unit}"
        return f"{_short(amount)} บาท"
    for size, unit in ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "k")):
        if abs(amount) >= size:
            return f"฿{_short(amount / size)}{unit}"
    return f"฿{_short(amount)}"


def spoken_baht(satang: int, lang: str) -> str:
    """The compact form inside a sentence: ``4.22 พันล้านบาท`` / ``฿4.22B``."""
    text = compact_baht(satang, lang)
    return text if lang != "th" or text.endswith("บาท") else text + "บาท"


def bangkok(moment: str | int | datetime) -> datetime:
    if isinstance(moment, int):
        return datetime.fromtimestamp(moment, tz=UTC).astimezone(BANGKOK)
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return moment.astimezone(BANGKOK)


def long_date(moment: str | int | datetime | date | None, lang: str, *, with_time: bool = True) -> str:
    """``21 พ.ย. 2569 13:45 น.`` / ``21 Nov 2026, 13:45``, in Bangkok time."""
    if moment is None:
        return "—"
    if isinstance(moment, date) and not isinstance(moment, datetime):
        local: date | datetime = moment
        with_time = False
    elif isinstance(moment, str) and len(moment) == 10:
        local = date.fromisoformat(moment)
        with_time = False
    else:
        local = bangkok(moment)  # type: ignore[arg-type]
    if lang == "th":
        text = f"{local.day} {_TH_MONTHS[local.month - 1]} {local.year + BE_OFFSET}"
        return f"{text} {local.strftime('%H:%M')} น." if with_time else text
    text = f"{local.day} {_EN_MONTHS[local.month - 1]} {local.year}"
    return f"{text}, {local.strftime('%H:%M')}" if with_time else text


def month_label(year: int, month: int, lang: str) -> str:
    """``ต.ค. 64`` / ``Oct 2021``: short, for chart axes and table rows."""
    if lang == "th":
        return f"{_TH_MONTHS[month - 1]} {(year + BE_OFFSET) % 100:02d}"
    return f"{_EN_MONTHS[month - 1]} {year}"


def percent(part: int, whole: int) -> str:
    if whole <= 0:
        return "—"
    return f"{part * 100 / whole:.1f}%"


class Words:
    """``words.key`` and ``words("key", n=3)`` in templates, in one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._index = LANGUAGES.index(lang)

    def __getattr__(self, key: str) -> str:
        try:
            return WORDS[key][self._index]
        except KeyError:
            raise AttributeError(key) from None

    def __call__(self, key: str, **values: Any) -> str:
        # English counts take a singular form where one exists ("1 project"); Thai has none.
        if values.get("n") == 1 and f"{key}_one" in WORDS:
            key = f"{key}_one"
        return WORDS[key][self._index].format(**values)

    def state(self, name: str) -> str:
        pair = STATE_NAMES.get(name)
        return pair[self._index] if pair else name

    def service(self, code: str) -> str:
        pair = SERVICE_NAMES.get(code)
        return pair[self._index] if pair else code
