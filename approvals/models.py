# Promotion requests, decisions and policies arrive with the approvals issue (DESIGN §5).
