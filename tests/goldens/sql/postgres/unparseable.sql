INSERT INTO good.target SELECT * FROM good.source;
SELEC * FRM ml.credit_scores;
INSERT INTO good.other SELECT * FROM good.target;
