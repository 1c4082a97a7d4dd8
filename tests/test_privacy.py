import pandas as pd

from helpers.data.privacy import mask_pii


def test_masks_names_phones_emails_and_leaves_the_rest():
    frame = pd.DataFrame({
        "customer_id": ["C1", "C2"], "name": ["深圳安防科技有限公司", None],
        "phone": ["138-1234-5678", "020 8888 1234"], "email": ["li.ming@example.com", "x@y.cn"],
        "city": ["深圳市", "广州市"],
    })
    masked = mask_pii(frame)
    assert list(masked["name"].fillna("NA")) == ["深*********", "NA"]
    assert list(masked["phone"]) == ["***5678", "***1234"]
    assert list(masked["email"]) == ["l***@example.com", "x***@y.cn"]
    assert masked["city"].equals(frame["city"]) and masked["customer_id"].equals(frame["customer_id"])
    assert frame.loc[0, "name"] == "深圳安防科技有限公司"  # input untouched
    assert mask_pii(frame, enabled=False).equals(frame)


def test_mask_contacts_masks_phones_and_emails_inside_free_text():
    from helpers.data.privacy import mask_contacts

    assert mask_contacts("city '张三 13812345678' not resolved; mail zs@example.com") == (
        "city '张三 ***5678' not resolved; mail z***@example.com")
    assert mask_contacts("tel 020-8888 1234 or +86 138 1234 5678") == "tel ***1234 or ***5678"
    # dates, times, counts and short numbers stay readable
    kept = "e.g. '2025-12-31 08:30:00', 2025/13/45, 12 rows, order D000123, 3.5%"
    assert mask_contacts(kept) == kept
    assert mask_contacts(None) is None and mask_contacts(12345678) == 12345678


def test_mask_pii_masks_chosen_columns_whole_and_free_text_in_place():
    frame = pd.DataFrame({"value": ["广洲", "李经理 13812345678", "Atlantis"],
                          "note": ["call 13812345678", "ok", None], "rows": [3, 1, 2]})
    masked = mask_pii(frame, columns=["value"], free_text=["note"])
    assert list(masked["value"]) == ["广**", "***5678", "A*******"]
    assert list(masked["note"].fillna("NA")) == ["call ***5678", "ok", "NA"]
    assert masked["rows"].equals(frame["rows"])
    assert mask_pii(frame, columns=["value"], free_text=["note"], enabled=False).equals(frame)
