-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
--
-- Host: localhost    Database: shop
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;

DROP TABLE IF EXISTS `customers`;
CREATE TABLE `customers` (
  `id` int NOT NULL AUTO_INCREMENT,
  `first_name` varchar(64) DEFAULT NULL,
  `last_name` varchar(64) DEFAULT NULL,
  `notes` text,
  `ssn` char(9) DEFAULT NULL,
  `date_of_birth` date DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_last` (`last_name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

LOCK TABLES `customers` WRITE;
INSERT INTO `customers` VALUES (1,'Siobhán','O\'Callaghan','likes \'tea\', (and) coffee','536228714','1984-03-17'),(2,'Henrik','Lindqvist',NULL,'412682290','1990-11-02'),(3,'Mateus','Carvalho','call after 5, ok?','219099998','1979-06-30');
UNLOCK TABLES;
