import pandas as pd

from helpers.privacy import mask_pii


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
