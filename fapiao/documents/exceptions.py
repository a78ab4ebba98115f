"""The one error of document reading: a stable code, and what to tell the user in Chinese and English."""

from __future__ import annotations

# code -> (message_zh, message_en)
MESSAGES: dict[str, tuple[str, str]] = {
    "unsupported_format": (
        "不支持的文件格式(仅支持PDF、OFD、XML)",
        "unsupported file type (PDF, OFD or XML only)",
    ),
    "empty_file": ("文件为空", "the file is empty"),
    "pdf_encrypted": ("PDF已加密, 无法读取", "the PDF is encrypted and cannot be read"),
    "pdf_damaged": ("PDF文件已损坏或不完整", "the PDF is damaged or truncated"),
    "pdf_unreadable": (
        "PDF中既无文字层也无可识别的二维码(可能是扫描图片)",
        "the PDF has neither a text layer nor a readable QR code (an image-only scan?)",
    ),
    "pdf_page_too_large": (
        "PDF页面尺寸异常过大, 不是发票",
        "the PDF's page is far too large for an invoice",
    ),
    "ofd_damaged": ("OFD文件已损坏或结构不完整", "the OFD file is damaged or incomplete"),
    "ofd_unreadable": ("OFD中未找到发票信息", "no invoice data found in the OFD file"),
    "xml_malformed": ("XML格式错误", "the XML is not well-formed"),
    "xml_forbidden": ("XML含有不允许的实体或DTD", "the XML contains entities or a DTD, which are refused"),
    "xml_not_einvoice": (
        "不是数电发票XML(根元素须为EInvoice)",
        "not a 数电 invoice XML (the root must be EInvoice)",
    ),
    "zip_damaged": ("压缩包已损坏", "the ZIP archive is damaged"),
    "zip_unsafe_path": (
        "压缩包内含有不安全的路径(如../)",
        "the ZIP archive contains an unsafe path (such as ../)",
    ),
    "zip_too_large": (
        "压缩包解压后过大或压缩比异常(疑似压缩炸弹)",
        "the ZIP archive expands too much (a ZIP bomb?)",
    ),
    "zip_encrypted": ("压缩包已加密", "the ZIP archive is encrypted"),
    "not_an_invoice": (
        "不是发票(未找到发票二维码、发票数据或发票字样)",
        "not an invoice (no invoice QR code, invoice data or the word 发票 found)",
    ),
    "document_too_complex": (
        "文件页面过大或过于复杂, 无法在限定资源内读取",
        "the document's pages are too large or too complex to read within the limits",
    ),
    "missing_fields": ("未能识别查验所需字段: {fields}", "could not read the fields a check needs: {fields}"),
    "fields_disagree": (
        "票面文字与二维码不一致: {fields}",
        "the printed text and the QR code disagree on: {fields}",
    ),
    "low_confidence": (
        "以下字段仅按格式推断, 需人工复核: {fields}",
        "these fields were only recognised by their shape and need a person's review: {fields}",
    ),
}


class DocumentError(Exception):
    """A document that cannot be read (or checked); `code` is stable, the messages are for people."""

    def __init__(self, code: str, **values: object) -> None:
        zh, en = MESSAGES[code]
        self.code = code
        self.message_zh = zh.format(**values)
        self.message_en = en.format(**values)
        super().__init__(f"{code}: {self.message_en}")
